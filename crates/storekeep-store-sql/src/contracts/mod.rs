//! Rental contracts, the same on both databases, written once over the
//! [`Backend`]: what checkout writes for a rental line (a unit claimed, the
//! contract and its schedule), what an order's payment or cancellation does
//! to its contracts, the cart's rental lines, and the reads
//! ([`impl_contract_store!`](crate::impl_contract_store)).

mod pay;
// contract life cycle (i15 phase 2)
mod life;
mod reads;
// i15 daily job
pub mod daily;
// i15 phase 3, payments and extension.
pub mod extend;
// i15 phase 3: customers paying installments.
pub mod customer_pay;

pub use pay::{NOT_RUNNING, NOTHING_DUE, pay_installment};
pub use reads::{contract, list_contracts, set_rental_item};
// i15 phase 3, buy-out and returns.
mod buyout;
mod returns;
pub use buyout::buy_out;
pub use returns::return_contract;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use storekeep_domain::{
    NewContract, NewOrder, Order, OrderId, OrderStatus, QuotedLine, RentalContractId, RentalUnitId,
    TenantId, UnitEventKind,
};
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

pub(crate) mod terms;

/// Claims one available unit of variant `$2` in shop `$1` for contract
/// `$3` at `$4`, by one conditional update (SQLite: the write transaction
/// serialises claimers). Returns the unit; no row: none available.
const CLAIM_UNIT: &str = "UPDATE rental_units SET status = 'rented', contract_id = $3, \
     updated_at = $4 WHERE status = 'available' AND id = (SELECT id FROM rental_units \
     WHERE tenant_id = $1 AND variant_id = $2 AND status = 'available' ORDER BY id LIMIT 1) \
     RETURNING id";

/// [`CLAIM_UNIT`] on PostgreSQL: a unit another checkout holds is skipped,
/// not waited for (and then found rented), so racing checkouts each take a
/// different unit while any is left.
const CLAIM_UNIT_LOCKED: &str = "UPDATE rental_units SET status = 'rented', contract_id = $3, \
     updated_at = $4 WHERE status = 'available' AND id = (SELECT id FROM rental_units \
     WHERE tenant_id = $1 AND variant_id = $2 AND status = 'available' ORDER BY id LIMIT 1 \
     FOR UPDATE SKIP LOCKED) RETURNING id";

/// Whether variant `$2` of shop `$1` is serial-tracked: units neither sold
/// nor retired.
const TRACKED_UNITS: &str = "SELECT count(*) FROM rental_units \
     WHERE tenant_id = $1 AND variant_id = $2 AND status NOT IN ('sold', 'retired')";

const INSERT_UNIT_EVENT: &str = "INSERT INTO rental_unit_events (id, tenant_id, unit_id, kind, \
     contract_id, condition, note, actor_id, at, actor) \
     VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9)";

const INSERT_CONTRACT: &str = "INSERT INTO rental_contracts (id, tenant_id, order_id, \
     order_line_id, plan_id, variant_id, unit_id, customer_id, status, terms, cash_price, \
     currency, deposit, deposit_held, term, time_zone, start_date, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $12, $12, $13, $14, $15, \
     $16, $16)";

/// One money movement, at most once per `(contract, key)`.
const INSERT_PAYMENT: &str = "INSERT INTO rental_payments (id, tenant_id, contract_id, \
     installment_id, kind, amount, provider, reference, reason, actor_id, key, created_at, actor) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, $10, $11) \
     ON CONFLICT (contract_id, key) DO NOTHING";

/// One money movement of a contract: its installment (if any), kind,
/// amount and the key that records it at most once.
pub(crate) type Move = (Option<DbId>, &'static str, i64, String);

/// What paying installment `inst` records: its amount, and the late fee
/// charged on it, if any (keys `installment:<id>`, `late_fee:<id>`).
pub(crate) fn installment_moves(inst: DbId, amount: i64, late_fee: i64) -> Vec<Move> {
    let mut moves = vec![(
        Some(inst),
        "installment",
        amount,
        format!("installment:{}", inst.0),
    )];
    if late_fee > 0 {
        moves.push((
            Some(inst),
            "late_fee",
            late_fee,
            format!("late_fee:{}", inst.0),
        ));
    }
    moves
}

/// Records `moves` of `contract` as paid through `(provider, reference)`
/// by `actor` (as the audit log names it); whether every one was new (a
/// key recorded before writes nothing).
pub(crate) async fn record_moves<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    contract: DbId,
    moves: Vec<Move>,
    (provider, reference): (&str, &str),
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut all_new = true;
    for (installment, kind, amount, key) in moves {
        let args = (
            DbId(uuid::Uuid::now_v7()),
            DbId(tenant.0),
            contract,
            installment,
            kind,
            amount,
            provider,
            reference,
            key,
            at,
            actor,
        );
        all_new &= B::exec(&mut *conn, Stmt::new(INSERT_PAYMENT, args)).await? == 1;
    }
    Ok(all_new)
}

/// The order lines whose units are serial-tracked: they hold a unit, not
/// the variant's stock, so paying or cancelling the order leaves stock
/// alone for them. `$1` is the order (the backends' stock statements add
/// `AND id NOT IN (…)` with this).
pub const LINES_HOLDING_UNITS: &str = "SELECT order_line_id FROM rental_contracts \
     WHERE order_id = $1 AND unit_id IS NOT NULL";

/// How a rental line is held at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// This serial-tracked unit was claimed (and its history written).
    Unit(RentalUnitId),
    /// The variant has no units: the line holds ordinary stock.
    Stock,
    /// The variant has units, none available: short.
    Short,
}

/// How checkout reserves one line of an order.
pub enum LineHold<'a> {
    /// A rental line of a serial-tracked variant claimed this unit for its
    /// contract: it reserves no stock.
    Unit(RentalContractId, RentalUnitId),
    /// A rental line whose variant has units, none available: short by
    /// one at this line.
    Short(Cow<'a, QuotedLine>),
    /// The line reserves stock as this line (a rental line of a variant
    /// without units: one unit at the cash price).
    Stock(Cow<'a, QuotedLine>),
}

/// What checkout does for `line` of `order` before reserving stock, the
/// same on both databases: a rental line claims a unit if its variant is
/// serial-tracked (see [`hold`]); every other line reserves stock.
pub async fn hold_line<'a, B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    order: &NewOrder,
    line: &'a QuotedLine,
    at: DateTime<Utc>,
) -> StoreResult<LineHold<'a>> {
    let Some(c) = rental_of(order, line.variant_id) else {
        return Ok(LineHold::Stock(Cow::Borrowed(line)));
    };
    let as_stock = Cow::Owned(as_stock_line(line, c));
    Ok(match hold::<B>(conn, tenant, c, &order.actor, at).await? {
        Hold::Unit(unit) => LineHold::Unit(c.id, unit),
        Hold::Short => LineHold::Short(as_stock),
        Hold::Stock => LineHold::Stock(as_stock),
    })
}

/// The order `$1`'s lines that took stock: all but those holding a
/// serial-tracked rental unit (`$1` is the order id). For `concat!`.
#[macro_export]
macro_rules! stock_lines_of_order {
    () => {
        "order_id = $1 AND id NOT IN (SELECT order_line_id FROM rental_contracts \
         WHERE order_id = $1 AND unit_id IS NOT NULL)"
    };
}

/// Claims a unit for the contract if its variant is serial-tracked.
pub async fn hold<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    c: &NewContract,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<Hold> {
    let sql = B::read_for_update(CLAIM_UNIT, CLAIM_UNIT_LOCKED);
    let args = (DbId(tenant.0), DbId(c.variant_id.0), DbId(c.id.0), at);
    let claimed: Option<DbId> = B::scalar_optional(conn, Stmt::new(sql, args)).await?;
    if let Some(unit) = claimed {
        let unit = RentalUnitId(unit.0);
        unit_event::<B>(
            conn,
            tenant,
            unit,
            UnitEventKind::Rented,
            c.id.0,
            "rented at checkout",
            actor,
            at,
        )
        .await?;
        return Ok(Hold::Unit(unit));
    }
    let tracked: i64 = B::scalar(
        conn,
        Stmt::new(TRACKED_UNITS, (DbId(tenant.0), DbId(c.variant_id.0))),
    )
    .await?;
    Ok(if tracked > 0 {
        Hold::Short
    } else {
        Hold::Stock
    })
}

/// A unit's history row written by a contract's life (rented at
/// checkout, released, sold, returned) by `actor`, as the audit log names
/// actors.
#[allow(clippy::too_many_arguments)]
async fn unit_event<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    unit: RentalUnitId,
    kind: UnitEventKind,
    contract: uuid::Uuid,
    note: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let args = (
        DbId(uuid::Uuid::now_v7()),
        DbId(tenant.0),
        DbId(unit.0),
        kind.as_str(),
        DbId(contract),
        note,
        crate::rentals::staff_id(actor),
        at,
        actor,
    );
    B::exec(conn, Stmt::new(INSERT_UNIT_EVENT, args)).await?;
    Ok(())
}

/// Writes a created order's contract for its line of the contract's
/// variant, with its schedule. The order's row must exist.
pub async fn insert_contract<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    order: &Order,
    c: &NewContract,
    unit: Option<RentalUnitId>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let line = order
        .lines
        .iter()
        .find(|l| l.variant_id == c.variant_id)
        .ok_or_else(|| StoreError::Other("a rental contract without its order line".into()))?;
    let args = (
        DbId(c.id.0),
        DbId(tenant.0),
        DbId(order.id.0),
        DbId(line.id.0),
        DbId(c.plan_id.0),
        DbId(c.variant_id.0),
        unit.map(|u| DbId(u.0)),
        order.customer_id.map(|u| DbId(u.0)),
        Json(terms::TermsJson::from(&c.terms)),
        c.cash_price,
        order.currency.as_str(),
        c.deposit,
        c.term,
        c.time_zone.as_str(),
        c.start_date,
        at,
    );
    B::exec(conn, Stmt::new(INSERT_CONTRACT, args)).await?;
    insert_installments::<B>(
        conn,
        DbId(tenant.0),
        DbId(c.id.0),
        c.installments.iter().copied(),
    )
    .await
}

/// Writes installments `(seq, due date, amount)` of contract `contract`
/// in one statement ([`Backend::INSERT_INSTALLMENTS`]), whatever their
/// number: a contract's schedule (up to hundreds of periods) or its
/// extension.
pub(crate) async fn insert_installments<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: DbId,
    contract: DbId,
    installments: impl IntoIterator<Item = (i32, NaiveDate, i64)>,
) -> StoreResult<()> {
    let rows: Vec<(uuid::Uuid, i32, NaiveDate, i64)> = installments
        .into_iter()
        .map(|(seq, due, amount)| (uuid::Uuid::now_v7(), seq, due, amount))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let args = (tenant, contract, Json(rows));
    B::exec(conn, Stmt::new(B::INSERT_INSTALLMENTS, args)).await?;
    Ok(())
}

/// What moving an order to `to` does to its contracts, in the move's
/// transaction: paid → the deposit and first installment are recorded as
/// paid (keys `deposit`, `installment:<id>`) by `actor`, who moved the
/// order (staff marking it paid, or the payment provider); cancelled (by staff or
/// expiry, only ever from unpaid) → its active contracts are cancelled and
/// their units made available again, with a history row.
pub async fn order_moved<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    order: OrderId,
    to: OrderStatus,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    match to {
        OrderStatus::Paid => settle_first::<B>(conn, tenant, order, actor, at).await,
        OrderStatus::Cancelled => cancel_all::<B>(conn, tenant, order, actor, at).await,
        _ => Ok(()),
    }
}

async fn settle_first<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    order: OrderId,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let contracts: Vec<(DbId, i64, String)> = B::all(
        conn,
        Stmt::new(
            "SELECT c.id, c.deposit, o.payment_provider FROM rental_contracts c \
             JOIN orders o ON o.id = c.order_id \
             WHERE c.order_id = $1 AND c.status = 'active' ORDER BY c.id",
            (DbId(order.0),),
        ),
    )
    .await?;
    let reference = order.to_string();
    for (contract, deposit, provider) in contracts {
        let first: Option<(DbId, i64)> = B::optional(
            conn,
            Stmt::new(
                "SELECT id, amount FROM rental_installments WHERE contract_id = $1 AND seq = 1",
                (contract,),
            ),
        )
        .await?;
        let mut moves = vec![(None, "deposit", deposit, "deposit".to_owned())];
        if let Some((inst, amount)) = first {
            moves.push((
                Some(inst),
                "installment",
                amount,
                format!("installment:{}", inst.0),
            ));
            B::exec(
                conn,
                Stmt::new(
                    "UPDATE rental_installments SET paid_at = $2 WHERE id = $1 AND paid_at IS NULL",
                    (inst, at),
                ),
            )
            .await?;
        }
        let paid_by = (&provider[..], &reference[..]);
        record_moves::<B>(conn, tenant, contract, moves, paid_by, actor, at).await?;
        // i15 phase 2, glue: the contract email goes out from this event.
        let (topic, payload) = storekeep_store::contracts::events::contract_started(
            order,
            storekeep_domain::RentalContractId(contract.0),
        );
        crate::commerce::outbox::emit::<B>(conn, tenant, order, topic, payload).await?;
        // i15 phase 3, payments: a one-period rent-to-own contract is paid in full.
        life::after_payment::<B>(conn, tenant, contract, actor, at).await?;
    }
    Ok(())
}

async fn cancel_all<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    order: OrderId,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let contracts: Vec<(DbId, Option<DbId>)> = B::all(
        conn,
        Stmt::new(
            "UPDATE rental_contracts SET status = 'cancelled', updated_at = $2 \
             WHERE order_id = $1 AND status = 'active' RETURNING id, unit_id",
            (DbId(order.0), at),
        ),
    )
    .await?;
    for (contract, unit) in contracts {
        let Some(unit) = unit else { continue };
        let freed = B::exec(
            conn,
            Stmt::new(
                "UPDATE rental_units SET status = 'available', contract_id = NULL, \
                 updated_at = $3 WHERE id = $1 AND contract_id = $2 AND status = 'rented'",
                (unit, contract, at),
            ),
        )
        .await?;
        if freed > 0 {
            let note = "released: the order was cancelled before it was paid";
            let unit = RentalUnitId(unit.0);
            unit_event::<B>(
                conn,
                tenant,
                unit,
                UnitEventKind::Returned,
                contract.0,
                note,
                actor,
                at,
            )
            .await?;
        }
    }
    Ok(())
}

/// The names [`impl_contract_store!`](crate::impl_contract_store) uses
/// (public only for the macro).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use storekeep_domain::{
        AuditContext, CartId, ContractDetail, ContractFilter, InstallmentId, Page, PageRequest,
        RentalContract, RentalContractId, RentalPlan, RentalPlanId, TenantId, VariantId,
    };
    pub use storekeep_store::contracts::ContractStore;
    pub use storekeep_store::{StoreError, StoreResult};
}

/// The contract of an order's rental line of `variant`, if it is one.
pub fn rental_of(order: &NewOrder, variant: storekeep_domain::VariantId) -> Option<&NewContract> {
    order.rentals.iter().find(|c| c.variant_id == variant)
}

/// A rental line as the stock rules see it: one unit at the cash price
/// (its quoted amount is what is due today, not the variant's price).
pub fn as_stock_line(line: &QuotedLine, c: &NewContract) -> QuotedLine {
    QuotedLine {
        unit_price: c.cash_price,
        ..line.clone()
    }
}
