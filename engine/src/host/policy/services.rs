//! Service managers: systemctl, service. Recipes control services through the service helpers.

use super::Policy;

pub(super) const POLICIES: &[Policy] = &[];
