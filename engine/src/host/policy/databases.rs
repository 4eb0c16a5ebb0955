//! Database servers and clients: psql, pg_isready, pg_ctlcluster, mariadb/mysql, redis-cli, redis-server.

use super::Policy;

pub(super) const POLICIES: &[Policy] = &[];
