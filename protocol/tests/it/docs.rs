//! Keeps docs/protocol.md true: every JSON example in it parses, round-trips, and every message
//! type is documented.
