//! Attempts taken on the sign-in throttle ([`super::throttle`]) before anything is checked:
//! a password or a second-factor code ([`Attempt`]), and a request that sends mail
//! ([`mail_throttle`]).

use super::sessions::Client;
use super::throttle;
use crate::{Core, CoreError};

/// An attempt at a password or code, taken on the throttle keys of its account and source
/// address before it is checked ([`throttle::reserve`]): it counts as a failure unless it
/// turns out right.
pub(crate) struct Attempt<'a> {
    core: &'a Core,
    account: Option<String>,
    address: Option<String>,
}

impl<'a> Attempt<'a> {
    /// Takes the attempt, or answers how long to wait.
    pub(crate) async fn take(
        core: &'a Core,
        email: Option<&str>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Result<Self, std::time::Duration>, CoreError> {
        let account = email.map(throttle::account);
        let address = ip.map(throttle::address);
        let keys: Vec<String> = account.iter().chain(address.iter()).cloned().collect();
        if let Some(wait) = throttle::locked_any(&core.pool, &keys).await? {
            return Ok(Err(wait));
        }
        if let Some(key) = &account
            && let Some(wait) = throttle::reserve(&core.pool, key, throttle::ACCOUNT).await?
        {
            return Ok(Err(wait));
        }
        if let Some(key) = &address
            && let Some(wait) = throttle::reserve(&core.pool, key, throttle::ADDRESS).await?
        {
            if let Some(a) = &account {
                throttle::release(&core.pool, a).await?;
            }
            return Ok(Err(wait));
        }
        Ok(Ok(Self {
            core,
            account,
            address,
        }))
    }

    /// The attempt was right: it stops counting. `clear` forgets the account's earlier
    /// failures too (a complete sign-in), else only this attempt is given back (a password
    /// still waiting for its second factor).
    pub(crate) async fn succeeded(self, clear: bool) -> Result<(), CoreError> {
        let pool = &self.core.pool;
        if let Some(key) = &self.account {
            if clear {
                throttle::clear(pool, key).await?;
            } else {
                throttle::release(pool, key).await?;
            }
        }
        if let Some(key) = &self.address {
            throttle::release(pool, key).await?;
        }
        Ok(())
    }
}

/// Throttles requests that send mail (password reset, verification resend): per address and
/// per recipient. `Err` carries the wait.
pub async fn mail_throttle(
    core: &Core,
    recipient: &str,
    client: &Client,
) -> Result<Result<(), std::time::Duration>, CoreError> {
    let mut keys = vec![format!("mail:{recipient}")];
    if let Some(ip) = client.ip {
        keys.push(format!("mail-{}", throttle::address(ip)));
    }
    for key in &keys {
        if let Some(wait) = throttle::reserve(&core.pool, key, throttle::MAIL).await? {
            return Ok(Err(wait));
        }
    }
    Ok(Ok(()))
}
