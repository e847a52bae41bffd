//! `Trunks`: the PBX's registrations with providers' gateways (`register: true` on a trunk),
//! kept in step with the running config — one `RegisterClient` per trunk that asks for it; a
//! trunk whose settings change starts afresh; one taken out of the config (or set to
//! `register: false`) unregisters and is dropped. Registering, failing and unregistering
//! are told to the operator. One shard of the engine runs them.

use super::context::{Ctx, Owner};
use super::directory::Directory;
use super::io::{Notice, Output};
use crate::sip::link::{Link, Peer};
use crate::sip::message::{Request, Response};
use crate::sip::register_client::{Account, RegisterClient, Step, RETRY};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Every trunk registration, by trunk label.
#[derive(Default)]
pub struct Trunks {
    clients: HashMap<String, RegisterClient>,
    /// The config they were last matched with.
    seen: Option<Arc<Directory>>,
}

impl Trunks {
    /// Matches the registrations with `directory`'s trunks (when it is a new one).
    pub fn reconcile(&mut self, directory: &Arc<Directory>, ctx: &mut Ctx) {
        if self
            .seen
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, directory))
        {
            return;
        }
        self.seen = Some(Arc::clone(directory));
        let mut wanted = std::collections::HashSet::new();
        for t in directory.trunks.iter().filter(|t| t.register) {
            let (Some(addr), Some((user, Some(password)))) = (t.addr, &t.auth) else {
                continue;
            };
            wanted.insert(t.label.clone());
            let link = if t.tcp { Link::Tcp } else { Link::Udp(0) };
            let account = Account {
                target: Peer { addr, link },
                host: t.host.clone(),
                user: user.clone(),
                password: password.clone(),
                contact: ctx.locals.contact(link, user),
            };
            let same = self
                .clients
                .get(&t.label)
                .is_some_and(|c| *c.account() == account && !c.is_leaving());
            if !same {
                let call_id = ctx.shard.call_id(ctx.random);
                let tag = ctx.random.tag();
                let client = RegisterClient::new(account, call_id, tag, ctx.now.mono);
                self.clients.insert(t.label.clone(), client);
            }
        }
        // A trunk no longer registering says so to its gateway (Expires: 0), then is dropped.
        let now = ctx.now.mono;
        self.clients
            .retain(|label, c| wanted.contains(label) || c.is_leaving() || c.leave(now));
    }

    /// When the next REGISTER is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .values()
            .filter_map(RegisterClient::next_deadline)
            .min()
    }

    /// Sends the REGISTERs due.
    pub fn poll(&mut self, ctx: &mut Ctx) {
        let now = ctx.now.mono;
        let due: Vec<(String, Request)> = self
            .clients
            .iter_mut()
            .filter_map(|(label, c)| Some((label.clone(), c.poll(now)?)))
            .collect();
        for (label, request) in due {
            self.send(&label, request, ctx);
        }
    }

    /// The gateway answered trunk `label`'s REGISTER (`None`: it never did).
    pub fn on_answer(&mut self, label: &str, response: Option<&Response>, ctx: &mut Ctx) {
        let Some(client) = self.clients.get_mut(label) else {
            return;
        };
        let gateway = client.account().target.addr;
        let trunk = label.to_string();
        let notice = match client.on_answer(response, ctx.now.mono) {
            Step::Retry(request) => return self.send(label, request, ctx),
            Step::Registered { granted } => Notice::TrunkRegistered {
                trunk,
                gateway,
                granted,
            },
            Step::Failed { code } => Notice::TrunkFailed {
                trunk,
                gateway,
                code,
                retry_s: RETRY.as_secs(),
            },
            Step::Left { code } => {
                self.clients.remove(label);
                Notice::TrunkUnregistered {
                    trunk,
                    gateway,
                    code,
                }
            }
            Step::Refreshed | Step::Nothing => return,
        };
        ctx.out.push_back(Output::Notice(notice));
    }

    fn send(&mut self, label: &str, mut request: Request, ctx: &mut Ctx) {
        let Some(target) = self.clients.get(label).map(|c| c.account().target) else {
            return;
        };
        request
            .headers_mut()
            .push_front("Via", ctx.via(target.link));
        ctx.send(request, target, Owner::Trunk(label.to_string()));
    }
}
