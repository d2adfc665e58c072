//! The rentals jobs: `rentals.daily`, the daily pass (periodic, hourly, so
//! each shop's new day is taken up soon after its midnight; a second run on
//! a date changes nothing), and `rental.remind`, one installment's reminder
//! email, enqueued by the pass in the transaction that claims it.

use std::sync::Arc;

use async_trait::async_trait;
use storekeep_store::now;
use storekeep_store::rules::rental_daily::{DAILY_JOB, DailyPass, REMINDER_JOB};

use super::kinds::MAINTENANCE;
use super::{JobError, JobHandler, JobRun, Periodic, Runner};
use crate::services::Services;
use crate::services::contracts::daily::{ReminderJob, reminder_email, run_daily};
use crate::services::{ServiceError, notify};

pub fn register(runner: &mut Runner, services: &Arc<Services>) {
    runner
        .register(DAILY_JOB, DailyRentals(services.clone()))
        .register(REMINDER_JOB, SendReminder(services.clone()))
        .periodic(Periodic {
            name: DAILY_JOB.into(),
            kind: DAILY_JOB.into(),
            queue: MAINTENANCE.into(),
            period: std::time::Duration::from_secs(3600),
        });
}

struct DailyRentals(Arc<Services>);

#[async_trait]
impl JobHandler for DailyRentals {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let pass = DailyPass {
            at: now(),
            date: None,
        };
        let out = run_daily(self.0.store.as_ref(), &pass)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        tracing::info!(
            contracts = out.contracts,
            overdue = out.overdue,
            late_fees = out.late_fees,
            defaulted = out.defaulted,
            reminders = out.reminders,
            "daily rentals pass"
        );
        Ok(())
    }
}

struct SendReminder(Arc<Services>);

#[async_trait]
impl JobHandler for SendReminder {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let tenant = job
            .tenant
            .ok_or_else(|| JobError::permanent("a reminder job names no shop"))?;
        let what: ReminderJob = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("a malformed reminder job: {e}")))?;
        let email = reminder_email(&self.0, tenant, &what)
            .await
            .map_err(|e| match e {
                ServiceError::Store(s) if !matches!(s, storekeep_store::StoreError::Invalid(_)) => {
                    JobError::retry(s.to_string())
                }
                other => JobError::permanent(other.to_string()),
            })?;
        let Some(mut email) = email else {
            return Ok(());
        };
        email.message_id = Some(format!("{}.{}", job.id, email.template));
        notify::deliver(&self.0, &email).await.map_err(|e| {
            if e.is_permanent() {
                JobError::permanent(e.to_string())
            } else {
                JobError::retry(e.to_string())
            }
        })
    }
}
