//! Programs that change files: tar (extracting), ln, rm, chmod, chown, mkdir, … Their path operands must lie under the recipe's declared write paths.

use super::Policy;

pub(super) const POLICIES: &[Policy] = &[];
