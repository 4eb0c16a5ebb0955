//! Programs that talk to other machines: curl, wget, rsync, ssh, ssh-keygen, restic, gpg, …

use super::Policy;

pub(super) const POLICIES: &[Policy] = &[];
