//! [`Stmt`]: SQL that both databases accept verbatim, written once with the
//! values it binds, and run by each backend on its own pool or transaction.
//!
//! A backend's code then holds only what differs: which connection runs
//! the statement, inside which transaction, and how errors are classified.

use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Database, Encode, FromRow, Type};
use storekeep_domain::{Page, PageRequest};
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;

/// A statement both databases accept verbatim and the values it binds, in
/// placeholder order (`$1`, `$2`…; sqlx's SQLite driver binds `$N` to the
/// N-th value as PostgreSQL does). A backend turns it into a sqlx query
/// with [`Stmt::query`], [`Stmt::query_as`] or [`Stmt::query_scalar`] and
/// runs that on its pool or transaction.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until a backend runs it"]
pub struct Stmt<A> {
    pub sql: &'static str,
    pub args: A,
}

impl<A> Stmt<A> {
    pub const fn new(sql: &'static str, args: A) -> Self {
        Self { sql, args }
    }

    /// The statement as a query whose result is a row count.
    pub fn query<'q, DB: Database>(self) -> Query<'q, DB, DB::Arguments<'q>>
    where
        A: Args<'q, DB>,
    {
        self.args.bind_to(sqlx::query(self.sql))
    }

    /// The statement as a query whose rows decode into `O`.
    pub fn query_as<'q, DB: Database, O>(self) -> QueryAs<'q, DB, O, DB::Arguments<'q>>
    where
        A: Args<'q, DB>,
        O: for<'r> FromRow<'r, DB::Row>,
    {
        self.args.bind_to(sqlx::query_as(self.sql))
    }

    /// The statement as a query whose rows are one value of type `O`.
    pub fn query_scalar<'q, DB: Database, O>(self) -> QueryScalar<'q, DB, O, DB::Arguments<'q>>
    where
        A: Args<'q, DB>,
        (O,): for<'r> FromRow<'r, DB::Row>,
    {
        self.args.bind_to(sqlx::query_scalar(self.sql))
    }
}

/// The values a [`Stmt`] binds: a tuple (up to 16) of types the database
/// encodes. [`DbId`], `i64`, `bool`, strings, `DateTime<Utc>`,
/// `sqlx::types::Json<T>` and `Option`s of them bind on both databases.
pub trait Args<'q, DB: Database> {
    fn bind_to<Q: Bind<'q, DB>>(self, query: Q) -> Q;
}

/// A sqlx query (plain, `as` or scalar) that takes one more value.
pub trait Bind<'q, DB: Database> {
    fn bind_value<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self;
}

impl<'q, DB: Database> Bind<'q, DB> for Query<'q, DB, DB::Arguments<'q>> {
    fn bind_value<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

impl<'q, DB: Database, O> Bind<'q, DB> for QueryAs<'q, DB, O, DB::Arguments<'q>> {
    fn bind_value<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

impl<'q, DB: Database, O> Bind<'q, DB> for QueryScalar<'q, DB, O, DB::Arguments<'q>> {
    fn bind_value<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

macro_rules! tuple_args {
    ($($t:ident $i:tt),*) => {
        impl<'q, DB: Database, $($t: 'q + Encode<'q, DB> + Type<DB>),*> Args<'q, DB> for ($($t,)*) {
            fn bind_to<Q: Bind<'q, DB>>(self, query: Q) -> Q {
                query$(.bind_value(self.$i))*
            }
        }
    };
}

tuple_args!();
tuple_args!(A 0);
tuple_args!(A 0, B 1);
tuple_args!(A 0, B 1, C 2);
tuple_args!(A 0, B 1, C 2, D 3);
tuple_args!(A 0, B 1, C 2, D 3, E 4);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);

/// The lower bound for `WHERE id > $n` in cursor pagination: the validated
/// cursor, or the nil id, which sorts before every id on both databases
/// (as `uuid` on PostgreSQL, as hyphenated TEXT on SQLite).
pub fn cursor(page: &PageRequest) -> StoreResult<DbId> {
    Ok(DbId(
        storekeep_store::parse_cursor(page)?.unwrap_or(uuid::Uuid::nil()),
    ))
}

/// The page made of the rows a page query fetched
/// ([`PageRequest::fetch_limit`], one more than the page holds), each
/// converted into its record; the cursor is the last kept record's id.
pub fn page_of<R, T>(
    rows: Vec<R>,
    page: &PageRequest,
    id: impl Fn(&T) -> uuid::Uuid,
) -> StoreResult<Page<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    let items = rows
        .into_iter()
        .map(T::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |t| id(t).to_string()))
}

/// The record of the row a look-up found, or `NotFound(what)`.
pub fn found<R, T>(row: Option<R>, what: &'static str) -> StoreResult<T>
where
    T: TryFrom<R, Error = StoreError>,
{
    row.ok_or(StoreError::NotFound(what))?.try_into()
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn a_statement_binds_its_values_in_placeholder_order() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        Stmt::new("CREATE TABLE t (id TEXT, n INTEGER, s TEXT)", ())
            .query()
            .execute(&mut conn)
            .await
            .unwrap();
        let id = DbId(uuid::Uuid::now_v7());
        // Placeholders out of order: `$N` is the N-th value, not the N-th mark.
        Stmt::new(
            "INSERT INTO t (s, n, id) VALUES ($3, $2, $1)",
            (id, 7_i64, "x"),
        )
        .query()
        .execute(&mut conn)
        .await
        .unwrap();
        let row: (DbId, i64, String) = Stmt::new("SELECT id, n, s FROM t WHERE id = $1", (id,))
            .query_as()
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(row, (id, 7, "x".to_owned()));
        let n: Option<i64> = Stmt::new("SELECT n FROM t WHERE s = $1 AND n > $2", ("x", 7_i64))
            .query_scalar()
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, None);
    }

    #[test]
    fn the_nil_cursor_sorts_before_every_id_as_text() {
        let first = cursor(&PageRequest::default()).unwrap();
        let id = DbId(uuid::Uuid::now_v7());
        assert!(first.0.hyphenated().to_string() < id.0.hyphenated().to_string());
        assert!(first < id);
    }
}
