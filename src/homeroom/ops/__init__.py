"""Operations: logging, metrics, health, rate limits, load shedding, probes."""
