"""The read side of the roster APIs, framework-free: OneRoster 1.1 filter/sort/fields/paging,
Clever-style cursor paging, and the JSON shapes of both, all through the sharing filter.
The web layer only parses query strings, calls these, and renders."""
