"""The thin web layer: parse, call a domain service, render. The factory is ``web.app``."""
