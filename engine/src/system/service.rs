//! TODO(system helper): service
