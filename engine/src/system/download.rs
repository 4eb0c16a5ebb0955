//! TODO(system helper): download
