//! TODO(system helper): apt
