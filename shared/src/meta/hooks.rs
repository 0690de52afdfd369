//! Project hooks and their delivery queue.
//!
//! A project's hooks and their delivery logs live in the project's slot (they go with the
//! project's keys). The queue lives in the `{webhooks}` slot: a ZSET of deliveries by due
//! time beside a HASH of the deliveries themselves, so taking, retrying and finishing one
//! are each one atomic step. Taking a delivery pushes its due time past a lease rather than
//! removing it: a worker that dies mid-delivery leaves it to be taken again.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};
use super::{Meta, to_json};
use crate::keys;
use crate::webhooks::{self, Attempt, Hook, HookEvent, Occurrence};

/// The delivery log keeps this many attempts per hook.
pub const MAX_LOG: isize = 100;

/// One event on its way to one hook.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub project_id: u64,
    pub hook_id: u64,
    pub delivery_id: String,
    pub event: HookEvent,
    /// The exact bytes sent (and signed) on every attempt.
    pub body: String,
    /// When the event happened (ms): retries stop `ARCA_WEBHOOK_RETRY_FOR` after it.
    pub first_at: u64,
    /// Attempts made so far.
    pub attempts: u32,
}

impl Delivery {
    /// Its member in the due ZSET and its field in the jobs HASH.
    pub fn member(&self) -> String {
        format!("{}:{}:{}", self.project_id, self.hook_id, self.delivery_id)
    }
}

/// KEYS: due ZSET, jobs HASH. ARGV: now, lease until, limit. Takes up to `limit`
/// deliveries due by `now`, moving each one's due time to `lease until`; answers
/// `[member, job, ...]`. A member without a job (finished meanwhile) is dropped.
const CLAIM: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(due) do
  local job = redis.call('HGET', KEYS[2], member)
  if job then
    redis.call('ZADD', KEYS[1], ARGV[2], member)
    table.insert(out, member)
    table.insert(out, job)
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return out
";

/// KEYS: hooks HASH. ARGV: hook id, record. Replaces an existing hook only.
const UPDATE_HOOK: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";

impl Meta {
    pub async fn next_hook_id(&self) -> StoreResult<u64> {
        self.next_id(keys::HOOK_SEQ).await
    }

    pub async fn create_hook(&self, hook: &Hook) -> StoreResult<()> {
        let _: () = self.conn().hset(keys::hooks(hook.project_id), hook.id, to_json(hook)?).await?;
        Ok(())
    }

    /// Replaces a hook's record, unless it was deleted meanwhile (then false).
    pub async fn update_hook(&self, hook: &Hook) -> StoreResult<bool> {
        let replaced: i64 = redis::Script::new(UPDATE_HOOK)
            .key(keys::hooks(hook.project_id))
            .arg(hook.id)
            .arg(to_json(hook)?)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(replaced == 1)
    }

    /// A project's hooks, oldest first.
    pub async fn hooks(&self, project_id: u64) -> StoreResult<Vec<Hook>> {
        let raw: Vec<String> = self.conn().hvals(keys::hooks(project_id)).await?;
        let mut hooks = parse_hooks(&raw)?;
        hooks.sort_by_key(|h| h.id);
        Ok(hooks)
    }

    pub async fn hook(&self, project_id: u64, hook_id: u64) -> StoreResult<Option<Hook>> {
        let raw: Option<String> = self.conn().hget(keys::hooks(project_id), hook_id).await?;
        raw.map(|r| serde_json::from_str(&r).map_err(|e| StoreError::corrupt("hook", e))).transpose()
    }

    /// Deletes a hook and its log; its queued deliveries are dropped when they come due.
    pub async fn delete_hook(&self, project_id: u64, hook_id: u64) -> StoreResult<bool> {
        let (removed, _): (u64, u64) = redis::pipe()
            .atomic()
            .hdel(keys::hooks(project_id), hook_id)
            .del(keys::hook_deliveries(project_id, hook_id))
            .query_async(&mut self.conn())
            .await?;
        Ok(removed == 1)
    }

    /// Queues `occurrence` for every hook of the project that wants it. Never fails the
    /// change it reports: an error is logged.
    pub async fn notify_hooks(&self, project_id: u64, occurrence: Occurrence) {
        let hooks = match self.conn().hvals::<_, Vec<String>>(keys::hooks(project_id)).await {
            Ok(raw) => raw,
            Err(e) => {
                tracing::error!(project_id, event = occurrence.event.as_str(), error = %e, "webhook event not queued: reading hooks failed");
                return;
            }
        };
        self.queue_deliveries(project_id, &hooks, occurrence).await;
    }

    /// Queues `occurrence` for those of `raw_hooks` (records as stored) that want it.
    pub(super) async fn queue_deliveries(&self, project_id: u64, raw_hooks: &[String], occurrence: Occurrence) {
        let event = occurrence.event;
        if raw_hooks.is_empty() {
            return;
        }
        if let Err(e) = self.try_queue_deliveries(project_id, raw_hooks, occurrence).await {
            tracing::error!(project_id, event = event.as_str(), error = %e, "webhook event not queued");
        }
    }

    async fn try_queue_deliveries(
        &self,
        project_id: u64,
        raw_hooks: &[String],
        occurrence: Occurrence,
    ) -> StoreResult<()> {
        let hooks: Vec<Hook> = parse_hooks(raw_hooks)?.into_iter().filter(|h| h.wants(occurrence.event)).collect();
        if hooks.is_empty() {
            return Ok(());
        }
        let Some(project) = self.project(project_id).await? else { return Ok(()) };
        let now = crate::time::now_ms();
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let body = webhooks::body(&occurrence, &delivery_id, now, &project);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for hook in &hooks {
            let delivery = Delivery {
                project_id,
                hook_id: hook.id,
                delivery_id: delivery_id.clone(),
                event: occurrence.event,
                body: body.clone(),
                first_at: now,
                attempts: 0,
            };
            let member = delivery.member();
            pipe.hset(keys::WEBHOOK_JOBS, &member, to_json(&delivery)?).ignore();
            pipe.zadd(keys::WEBHOOK_DUE, &member, now).ignore();
        }
        pipe.query_async::<()>(&mut self.conn()).await?;
        crate::metrics::WEBHOOK_EVENTS.with_label_values(&[occurrence.event.as_str()]).inc_by(hooks.len() as u64);
        Ok(())
    }

    /// Takes up to `limit` deliveries due by `now_ms`, each held until `lease_until_ms`.
    pub async fn claim_deliveries(&self, now_ms: u64, lease_until_ms: u64, limit: usize) -> StoreResult<Vec<Delivery>> {
        let raw: Vec<String> = redis::Script::new(CLAIM)
            .key(keys::WEBHOOK_DUE)
            .key(keys::WEBHOOK_JOBS)
            .arg(now_ms)
            .arg(lease_until_ms)
            .arg(limit)
            .invoke_async(&mut self.conn())
            .await?;
        let mut out = Vec::new();
        for pair in raw.chunks(2) {
            if let [member, job] = pair {
                match serde_json::from_str::<Delivery>(job) {
                    Ok(d) => out.push(d),
                    Err(e) => {
                        // An unreadable job would come back forever: log it and drop it.
                        tracing::error!(member = %member, error = %e, "unreadable webhook delivery dropped");
                        self.finish_delivery_member(member).await?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// A delivery is done (acknowledged, abandoned or dropped): off the queue.
    pub async fn finish_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        self.finish_delivery_member(&delivery.member()).await
    }

    async fn finish_delivery_member(&self, member: &str) -> StoreResult<()> {
        redis::pipe()
            .atomic()
            .zrem(keys::WEBHOOK_DUE, member)
            .hdel(keys::WEBHOOK_JOBS, member)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Puts a delivery back, due again at `due_ms`, with its attempt count.
    pub async fn retry_delivery(&self, delivery: &Delivery, due_ms: u64) -> StoreResult<()> {
        let member = delivery.member();
        redis::pipe()
            .atomic()
            .hset(keys::WEBHOOK_JOBS, &member, to_json(delivery)?)
            .zadd(keys::WEBHOOK_DUE, &member, due_ms)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Appends an attempt to its hook's delivery log (newest first, capped).
    pub async fn log_delivery(&self, project_id: u64, hook_id: u64, entry: &Attempt) -> StoreResult<()> {
        let key = keys::hook_deliveries(project_id, hook_id);
        redis::pipe()
            .atomic()
            .lpush(&key, to_json(entry)?)
            .ltrim(&key, 0, MAX_LOG - 1)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// A page of a hook's delivery log, newest first: `(total, page)`.
    pub async fn hook_deliveries(
        &self,
        project_id: u64,
        hook_id: u64,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<Attempt>)> {
        self.list_page(&keys::hook_deliveries(project_id, hook_id), offset, limit).await
    }

    /// Deliveries queued (waiting or in flight) and those due by `now_ms`.
    pub async fn webhook_queue_depths(&self, now_ms: u64) -> StoreResult<(i64, i64)> {
        let (all, due): (i64, i64) = redis::pipe()
            .zcard(keys::WEBHOOK_DUE)
            .zcount(keys::WEBHOOK_DUE, 0, now_ms)
            .query_async(&mut self.conn())
            .await?;
        Ok((all, due))
    }
}

fn parse_hooks(raw: &[String]) -> StoreResult<Vec<Hook>> {
    raw.iter().map(|r| serde_json::from_str(r).map_err(|e| StoreError::corrupt("hook", e))).collect()
}
