//! Package managers: apt-get, apt, apt-cache, dpkg, dpkg-query. Recipes change packages through the apt helpers, which build their own argv.

use super::Policy;

pub(super) const POLICIES: &[Policy] = &[];
