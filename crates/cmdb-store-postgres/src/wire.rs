//! The PostgreSQL frontend/backend protocol (version 3), spoken synchronously over a blocking
//! socket: connecting and authenticating, then round trips of requests.
//!
//! Why a protocol client of our own (on `postgres-protocol`, the message codec tokio-postgres is
//! built on) rather than tokio-postgres itself:
//! * tokio-postgres ends every statement with its own Sync message. The server answers a Sync by
//!   flushing its output (a `send`) and the client wakes up for each answer, so a round trip of
//!   five statements cost five sends and wakeups on each side. Here a round trip is ONE write
//!   with ONE Sync at its end: the server reads the whole batch, runs it, and answers with one
//!   flush; the client sleeps once. Measured on `create_inst`, this halves the server CPU per
//!   statement batch (see ARCHITECTURE.md).
//! * The storage contract ([`cmdb_store::Tx`]) is synchronous and runs on blocking threads. An
//!   async client needed a private runtime per connection, `block_on` per round trip, a channel
//!   and a boxed future per request. A blocking socket needs none of that.
//!
//! Semantics of one Sync group, which the callers rely on: requests run in order; the first one
//! that fails makes the server skip everything up to the Sync (those requests have no outcome,
//! `None`), so nothing after a failure runs -- as if they had been sent one by one, stopping at
//! the first failure. A request whose parameters cannot be encoded is not sent, and neither is
//! anything behind it. A simple query (several `;`-separated statements, no parameters) cannot
//! share a Sync group; it is sent behind the group ahead of it, in the same write.
//!
//! The whole round trip is written before anything is read. That is safe as long as the answers
//! to the requests ahead of the last one are small (the server writes answers while it reads
//! requests; if more piled up than the socket buffers hold -- hundreds of kilobytes -- both sides
//! would wait for each other): only the last request of a round trip returns rows, deferred
//! statements return none (they are INSERT, UPDATE, DELETE), and their queue is bounded.
//!
//! TLS is not spoken (as before: the backend connected with `NoTls`), so `sslmode=require` is
//! refused. Authentication: trust, password, MD5 and SCRAM-SHA-256 (without channel binding).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use cmdb_store::{Row, SqlValue};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{self, sasl};
use postgres_protocol::message::backend::{ErrorResponseBody, Message};
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;
use tokio_postgres::config::{ChannelBinding, Host, SslMode, TargetSessionAttrs};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Kind, ToSql, Type};
use tokio_postgres::Config;

use crate::values::{Cell, Param};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// How long dropping a connection may wait to write its Terminate message.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A server error (an ErrorResponse), with the fields this backend reports or maps.
#[derive(Debug)]
pub(crate) struct DbError {
    /// `ERROR`, `FATAL` ... (localized).
    pub(crate) severity: String,
    /// The SQLSTATE.
    pub(crate) code: SqlState,
    /// The primary message.
    pub(crate) message: String,
    /// The detail, if any (e.g. which key was duplicated).
    pub(crate) detail: Option<String>,
    /// The table a constraint violation concerns.
    pub(crate) table: Option<String>,
    /// The column a violation concerns.
    pub(crate) column: Option<String>,
    /// The constraint violated.
    pub(crate) constraint: Option<String>,
}

/// Why a request (or connecting) failed.
#[derive(Debug)]
pub(crate) enum WireError {
    /// The server refused it.
    Db(Box<DbError>),
    /// The socket failed or was closed.
    Io(io::Error),
    /// The server said something out of protocol: the connection is unusable.
    Protocol(String),
    /// A parameter could not be encoded: the request was not sent.
    Encode(String),
    /// The configuration asks for something this client does not do, or lacks something.
    Config(String),
}

impl WireError {
    /// The server's error, if it was one.
    pub(crate) fn db(&self) -> Option<&DbError> {
        match self {
            WireError::Db(db) => Some(db),
            _ => None,
        }
    }

    /// True when the connection (or the server) is gone, not the request wrong.
    pub(crate) fn is_connection_error(&self) -> bool {
        match self {
            WireError::Io(_) | WireError::Protocol(_) => true,
            WireError::Db(db) => {
                db.code.code().starts_with("08")
                    || matches!(
                        db.code,
                        SqlState::ADMIN_SHUTDOWN
                            | SqlState::CRASH_SHUTDOWN
                            | SqlState::CANNOT_CONNECT_NOW
                            | SqlState::TOO_MANY_CONNECTIONS
                            | SqlState::DATABASE_DROPPED
                    )
            }
            WireError::Encode(_) | WireError::Config(_) => false,
        }
    }

    /// The error with its server detail, for messages and logs.
    pub(crate) fn describe(&self) -> String {
        match self {
            WireError::Db(db) => {
                let mut s = format!("{} {}: {}", db.severity, db.code.code(), db.message);
                if let Some(d) = &db.detail {
                    s.push_str(" (");
                    s.push_str(d);
                    s.push(')');
                }
                s
            }
            WireError::Io(e) => format!("error communicating with the server: {e}"),
            WireError::Protocol(m) => format!("unexpected message from server: {m}"),
            WireError::Encode(m) => m.clone(),
            WireError::Config(m) => m.clone(),
        }
    }

    fn closed() -> WireError {
        WireError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection is closed",
        ))
    }
}

fn protocol(what: impl std::fmt::Display) -> WireError {
    WireError::Protocol(what.to_string())
}

fn parse_db_error(body: &ErrorResponseBody) -> WireError {
    let mut db = DbError {
        severity: String::new(),
        code: SqlState::INTERNAL_ERROR,
        message: String::new(),
        detail: None,
        table: None,
        column: None,
        constraint: None,
    };
    let mut fields = body.fields();
    loop {
        match fields.next() {
            Ok(Some(field)) => {
                let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
                match field.type_() {
                    b'S' => db.severity = value,
                    b'C' => db.code = SqlState::from_code(&value),
                    b'M' => db.message = value,
                    b'D' => db.detail = Some(value),
                    b't' => db.table = Some(value),
                    b'c' => db.column = Some(value),
                    b'n' => db.constraint = Some(value),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => return protocol(format!("malformed error response: {e}")),
        }
    }
    WireError::Db(Box::new(db))
}

/// A statement prepared on one connection (named there), with the types the server inferred
/// for its parameters and result columns. Clones share it; see [`Wire::retire`].
#[derive(Debug, Clone)]
pub(crate) struct Statement(Arc<Prepared>);

#[derive(Debug)]
struct Prepared {
    name: String,
    /// The SQL it was prepared from (`$n` placeholders), to prepare it again elsewhere.
    text: String,
    params: Vec<Type>,
    columns: Vec<Type>,
}

impl Statement {
    /// The parameter types, in placeholder order.
    pub(crate) fn params(&self) -> &[Type] {
        &self.0.params
    }

    /// The SQL it was prepared from (`$n` placeholders).
    pub(crate) fn text(&self) -> &str {
        &self.0.text
    }
}

/// One request of a round trip.
#[derive(Clone, Copy)]
pub(crate) enum Request<'a> {
    /// Prepare this SQL (with `$n` placeholders) as a new named statement.
    Prepare(&'a str),
    /// Run the statement and return its rows.
    Query(&'a Statement, &'a [SqlValue]),
    /// Run the statement and return the number of rows it affected.
    Execute(&'a Statement, &'a [SqlValue]),
    /// [`Request::Execute`] with parameters encoded earlier by [`encode_params`].
    ExecuteEncoded(&'a Statement, &'a [u8]),
    /// Run `;`-separated statements without parameters (the simple query protocol).
    Batch(&'a str),
    /// End the Sync group here: what follows runs even if something before failed (in the
    /// aborted transaction that failure left, if any). Its outcome is `Done`.
    Sync,
}

/// The answer to a [`Request`].
#[derive(Debug)]
pub(crate) enum Response {
    /// From [`Request::Prepare`].
    Prepared(Statement),
    /// From [`Request::Query`].
    Rows(Vec<Row>),
    /// From [`Request::Execute`].
    Count(u64),
    /// From [`Request::Batch`].
    Done,
}

/// The outcome of one request of a round trip: `None` when it was not sent or not run because
/// a request ahead of it failed.
pub(crate) type Outcome = Option<Result<Response, WireError>>;

/// What to read back, in order.
enum Step {
    /// ParseComplete, ParameterDescription, RowDescription or NoData: the request at this index.
    Prepare(usize, String),
    /// BindComplete, data rows, CommandComplete: the request at this index.
    Run(usize),
    /// CloseComplete of this statement name.
    Close(String),
    /// ReadyForQuery ending a Sync group.
    Sync,
    /// The answers to a simple query up to its ReadyForQuery: the request at this index.
    Simple(usize),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(timeout),
            Stream::Unix(s) => s.set_write_timeout(timeout),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One connection to the server, ready for requests (blocking).
pub(crate) struct Wire {
    stream: Stream,
    /// Messages being written.
    out: BytesMut,
    /// Bytes read and not parsed yet.
    inp: BytesMut,
    /// A connection-level failure was seen: the connection must not be used again.
    closed: bool,
    /// Statement names handed out so far.
    names: u64,
    /// Statements dropped from the caller's caches; closed on the server once nothing else
    /// holds them (a queued request may still).
    retired: Vec<Statement>,
    /// Names of retired statements to close on the server.
    unclosed: Vec<String>,
}

impl Drop for Wire {
    fn drop(&mut self) {
        if !self.closed {
            // Best effort, and never a hang: tell the server we are going (it would notice the
            // closed socket anyway).
            let mut buf = BytesMut::new();
            frontend::terminate(&mut buf);
            let _ = self.stream.set_write_timeout(Some(CLOSE_WAIT));
            let _ = self.stream.write_all(&buf);
        }
    }
}

impl Wire {
    /// Connects to the first host of `config` that accepts us, authenticates, and waits until
    /// the server is ready (blocking).
    pub(crate) fn connect(config: &Config) -> Result<Wire, WireError> {
        if config.get_ssl_mode() == SslMode::Require {
            return Err(WireError::Config(
                "sslmode=require: cmdb-rs speaks to PostgreSQL without TLS".into(),
            ));
        }
        if config.get_channel_binding() == ChannelBinding::Require {
            return Err(WireError::Config(
                "channel_binding=require: cmdb-rs speaks to PostgreSQL without TLS".into(),
            ));
        }
        let hosts = config.get_hosts();
        let hostaddrs = config.get_hostaddrs();
        let ports = config.get_ports();
        let count = hosts.len().max(hostaddrs.len());
        if count == 0 {
            return Err(WireError::Config("the PostgreSQL URL names no host".into()));
        }
        let timeout = config.get_connect_timeout().copied();
        let mut last = None;
        for i in 0..count {
            let port = ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(5432);
            let stream = match (hostaddrs.get(i), hosts.get(i)) {
                (Some(ip), _) => tcp(&[SocketAddr::new(*ip, port)], timeout, config),
                (None, Some(Host::Tcp(host))) => (host.as_str(), port)
                    .to_socket_addrs()
                    .map_err(WireError::Io)
                    .and_then(|addrs| tcp(&addrs.collect::<Vec<_>>(), timeout, config)),
                (None, Some(Host::Unix(dir))) => {
                    UnixStream::connect(dir.join(format!(".s.PGSQL.{port}")))
                        .map(Stream::Unix)
                        .map_err(WireError::Io)
                }
                (None, None) => Err(WireError::Config("no host".into())),
            };
            match stream.and_then(|s| Wire::start(s, config, timeout)) {
                Ok(wire) => return Ok(wire),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| WireError::Config("no host".into())))
    }

    /// Startup, authentication, and the session checks the configuration asks for.
    fn start(
        stream: Stream,
        config: &Config,
        timeout: Option<Duration>,
    ) -> Result<Wire, WireError> {
        // A server that accepts but never answers must not hang the caller forever.
        stream.set_read_timeout(timeout).map_err(WireError::Io)?;
        let mut wire = Wire {
            stream,
            out: BytesMut::with_capacity(4096),
            inp: BytesMut::with_capacity(READ_CHUNK),
            closed: false,
            names: 0,
            retired: Vec::new(),
            unclosed: Vec::new(),
        };
        let os_user = std::env::var("USER").ok();
        let user = config
            .get_user()
            .or(os_user.as_deref())
            .ok_or_else(|| WireError::Config("the PostgreSQL URL names no user".into()))?
            .to_string();
        let mut params = vec![("client_encoding", "UTF8"), ("user", user.as_str())];
        if let Some(db) = config.get_dbname() {
            params.push(("database", db));
        }
        if let Some(options) = config.get_options() {
            params.push(("options", options));
        }
        if let Some(name) = config.get_application_name() {
            params.push(("application_name", name));
        }
        frontend::startup_message(params, &mut wire.out).map_err(protocol)?;
        wire.send()?;
        wire.authenticate(config, &user)?;
        loop {
            match wire.next()? {
                Message::ReadyForQuery(_) => break,
                Message::BackendKeyData(_) => {}
                Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
                _ => return Err(protocol("during startup")),
            }
        }
        match config.get_target_session_attrs() {
            TargetSessionAttrs::Any => {}
            attrs => {
                let want_read_only = attrs == TargetSessionAttrs::ReadOnly;
                let read_only = wire.show("transaction_read_only")? == "on";
                if read_only != want_read_only {
                    return Err(WireError::Config(format!(
                        "the server does not match target_session_attrs={attrs:?}"
                    )));
                }
            }
        }
        wire.stream.set_read_timeout(None).map_err(WireError::Io)?;
        Ok(wire)
    }

    fn authenticate(&mut self, config: &Config, user: &str) -> Result<(), WireError> {
        let password = || {
            config
                .get_password()
                .ok_or_else(|| WireError::Config("the server asks for a password".into()))
        };
        match self.next()? {
            Message::AuthenticationOk => return Ok(()),
            Message::AuthenticationCleartextPassword => {
                frontend::password_message(password()?, &mut self.out).map_err(protocol)?;
            }
            Message::AuthenticationMd5Password(body) => {
                let hash = authentication::md5_hash(user.as_bytes(), password()?, body.salt());
                frontend::password_message(hash.as_bytes(), &mut self.out).map_err(protocol)?;
            }
            Message::AuthenticationSasl(body) => {
                let mut scram_offered = false;
                let mut mechanisms = body.mechanisms();
                while let Some(m) = mechanisms.next().map_err(protocol)? {
                    scram_offered |= m == sasl::SCRAM_SHA_256;
                }
                if !scram_offered {
                    return Err(WireError::Config(
                        "the server offers no SASL mechanism cmdb-rs supports".into(),
                    ));
                }
                let mut scram =
                    sasl::ScramSha256::new(password()?, sasl::ChannelBinding::unsupported());
                frontend::sasl_initial_response(
                    sasl::SCRAM_SHA_256,
                    scram.message(),
                    &mut self.out,
                )
                .map_err(protocol)?;
                self.send()?;
                let data = match self.next()? {
                    Message::AuthenticationSaslContinue(body) => body.data().to_vec(),
                    Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
                    _ => return Err(protocol("during SASL authentication")),
                };
                scram
                    .update(&data)
                    .map_err(|e| WireError::Config(format!("SCRAM authentication failed: {e}")))?;
                frontend::sasl_response(scram.message(), &mut self.out).map_err(protocol)?;
                self.send()?;
                let data = match self.next()? {
                    Message::AuthenticationSaslFinal(body) => body.data().to_vec(),
                    Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
                    _ => return Err(protocol("during SASL authentication")),
                };
                scram
                    .finish(&data)
                    .map_err(|e| WireError::Config(format!("SCRAM authentication failed: {e}")))?;
                return self.expect_auth_ok();
            }
            Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
            _ => {
                return Err(WireError::Config(
                    "the server asks for an authentication method cmdb-rs does not support".into(),
                ))
            }
        }
        self.send()?;
        self.expect_auth_ok()
    }

    fn expect_auth_ok(&mut self) -> Result<(), WireError> {
        match self.next()? {
            Message::AuthenticationOk => Ok(()),
            Message::ErrorResponse(body) => Err(parse_db_error(&body)),
            _ => Err(protocol("during authentication")),
        }
    }

    /// The value of a server setting (simple query `SHOW`).
    fn show(&mut self, setting: &str) -> Result<String, WireError> {
        frontend::query(&format!("SHOW {setting}"), &mut self.out).map_err(protocol)?;
        self.send()?;
        let mut value = String::new();
        let mut failure = None;
        loop {
            match self.next()? {
                Message::DataRow(row) => {
                    let mut ranges = row.ranges();
                    if let Ok(Some(Some(r))) = ranges.next() {
                        value = String::from_utf8_lossy(&row.buffer()[r]).into_owned();
                    }
                }
                Message::ErrorResponse(body) => failure = Some(parse_db_error(&body)),
                Message::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// A connection-level failure was seen: the connection is unusable.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Hands a statement back: it is closed on the server once no queued request holds it.
    pub(crate) fn retire(&mut self, statement: Statement) {
        self.retired.push(statement);
    }

    /// Writes what is buffered.
    fn send(&mut self) -> Result<(), WireError> {
        let result = self.stream.write_all(&self.out);
        self.out.clear();
        result.map_err(|e| {
            self.closed = true;
            WireError::Io(e)
        })
    }

    /// The next message that is not asynchronous (notices, parameter changes and notifications
    /// are skipped), reading as needed.
    fn next(&mut self) -> Result<Message, WireError> {
        loop {
            match Message::parse(&mut self.inp) {
                Ok(Some(Message::NoticeResponse(_)))
                | Ok(Some(Message::ParameterStatus(_)))
                | Ok(Some(Message::NotificationResponse(_))) => continue,
                Ok(Some(message)) => return Ok(message),
                Ok(None) => {}
                Err(e) => {
                    self.closed = true;
                    return Err(protocol(e));
                }
            }
            let len = self.inp.len();
            self.inp.resize(len + READ_CHUNK, 0);
            match self.stream.read(&mut self.inp[len..]) {
                Ok(0) => {
                    self.inp.truncate(len);
                    self.closed = true;
                    return Err(WireError::closed());
                }
                Ok(n) => self.inp.truncate(len + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.inp.truncate(len),
                Err(e) => {
                    self.inp.truncate(len);
                    self.closed = true;
                    return Err(WireError::Io(e));
                }
            }
        }
    }

    /// Sends the requests in one write -- one Sync group, or one per simple query -- and reads
    /// every answer (blocking). See the module documentation for what runs after a failure.
    pub(crate) fn round_trip(&mut self, requests: &[Request<'_>]) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = requests.iter().map(|_| None).collect();
        if requests.is_empty() {
            return outcomes;
        }
        if self.closed {
            outcomes[0] = Some(Err(WireError::closed()));
            return outcomes;
        }
        self.out.clear();
        let mut plan = Vec::with_capacity(requests.len() + 2);
        let mut open_group = false;
        for (i, request) in requests.iter().enumerate() {
            let encoded = match request {
                Request::Sync => {
                    if open_group {
                        frontend::sync(&mut self.out);
                        plan.push(Step::Sync);
                        open_group = false;
                    }
                    outcomes[i] = Some(Ok(Response::Done));
                    Ok(())
                }
                Request::Batch(sql) => {
                    if open_group {
                        frontend::sync(&mut self.out);
                        plan.push(Step::Sync);
                        open_group = false;
                    }
                    frontend::query(sql, &mut self.out)
                        .map(|()| plan.push(Step::Simple(i)))
                        .map_err(|e| WireError::Encode(format!("cannot send the query: {e}")))
                }
                Request::Prepare(sql) => {
                    self.names += 1;
                    let name = format!("s{}", self.names);
                    open_group = true;
                    frontend::parse(&name, sql, std::iter::empty(), &mut self.out)
                        .and_then(|()| frontend::describe(b'S', &name, &mut self.out))
                        .map(|()| plan.push(Step::Prepare(i, name)))
                        .map_err(|e| WireError::Encode(format!("cannot send the statement: {e}")))
                }
                Request::ExecuteEncoded(st, encoded) => {
                    write_bind(st, encoded, &mut self.out);
                    open_group = true;
                    plan.push(Step::Run(i));
                    Ok(())
                }
                Request::Query(st, params) | Request::Execute(st, params) => {
                    let mark = self.out.len();
                    match bind(st, params, &mut self.out) {
                        Ok(()) => {
                            open_group = true;
                            plan.push(Step::Run(i));
                            Ok(())
                        }
                        Err(e) => {
                            self.out.truncate(mark);
                            Err(e)
                        }
                    }
                }
            };
            if let Err(e) = encoded {
                outcomes[i] = Some(Err(e));
                break;
            }
        }
        if open_group {
            self.close_retired(&mut plan);
            frontend::sync(&mut self.out);
            plan.push(Step::Sync);
        }
        if plan.is_empty() {
            return outcomes;
        }
        if let Err(e) = self.send() {
            if let Some(i) = plan.iter().find_map(step_request) {
                outcomes[i] = Some(Err(e));
            }
            return outcomes;
        }
        self.read_answers(requests, &plan, &mut outcomes);
        outcomes
    }

    /// Closes the retired statements nothing holds any more (at the end of a Sync group; a
    /// Close that does not run because something failed earlier is sent again later).
    fn close_retired(&mut self, plan: &mut Vec<Step>) {
        let retired = std::mem::take(&mut self.retired);
        for st in retired {
            match Arc::try_unwrap(st.0) {
                Ok(prepared) => self.unclosed.push(prepared.name),
                Err(shared) => self.retired.push(Statement(shared)),
            }
        }
        for name in &self.unclosed {
            if frontend::close(b'S', name, &mut self.out).is_ok() {
                plan.push(Step::Close(name.clone()));
            }
        }
    }

    fn read_answers(&mut self, requests: &[Request<'_>], plan: &[Step], outcomes: &mut [Outcome]) {
        // Inside a Sync group after a failure the server skips to the Sync.
        let mut skipping = false;
        for step in plan {
            let index = step_request(step);
            let result = match step {
                Step::Sync => {
                    skipping = false;
                    self.read_until_ready().map(|_| None)
                }
                _ if skipping => continue,
                Step::Prepare(i, name) => {
                    let text = match &requests[*i] {
                        Request::Prepare(sql) => *sql,
                        _ => "",
                    };
                    self.read_prepared(name, text).map(Some)
                }
                Step::Run(i) => match &requests[*i] {
                    Request::Query(st, _) => {
                        self.read_rows(st).map(|rows| Some(Response::Rows(rows)))
                    }
                    _ => self.read_count().map(|n| Some(Response::Count(n))),
                },
                Step::Close(name) => match self.next() {
                    Ok(Message::CloseComplete) => {
                        self.unclosed.retain(|n| n != name);
                        Ok(None)
                    }
                    Ok(Message::ErrorResponse(body)) => Err(parse_db_error(&body)),
                    Ok(_) => Err(self.out_of_protocol("a Close")),
                    Err(e) => Err(e),
                },
                Step::Simple(_) => self.read_simple().map(|()| Some(Response::Done)),
            };
            match result {
                Ok(Some(response)) => {
                    if let Some(i) = index {
                        outcomes[i] = Some(Ok(response));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    let connection = e.is_connection_error()
                        || e.db()
                            .is_some_and(|db| db.severity == "FATAL" || db.severity == "PANIC");
                    // Attribute the failure to this step's request, or (a Close or a Sync
                    // failing) to the first request without an outcome, so it is never lost.
                    let target = index.or_else(|| {
                        plan.iter()
                            .filter_map(step_request)
                            .find(|i| outcomes[*i].is_none())
                    });
                    if let Some(i) = target {
                        if outcomes[i].is_none() {
                            outcomes[i] = Some(Err(e));
                        }
                    }
                    if connection {
                        self.closed = true;
                        return;
                    }
                    if matches!(step, Step::Sync | Step::Simple(_)) {
                        continue;
                    }
                    skipping = true;
                }
            }
        }
    }

    fn out_of_protocol(&mut self, what: &str) -> WireError {
        self.closed = true;
        protocol(format!("unexpected answer to {what}"))
    }

    fn read_prepared(&mut self, name: &str, text: &str) -> Result<Response, WireError> {
        match self.next()? {
            Message::ParseComplete => {}
            Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
            _ => return Err(self.out_of_protocol("Parse")),
        }
        let params = match self.next()? {
            Message::ParameterDescription(body) => body
                .parameters()
                .map(|oid| Ok(type_of(oid)))
                .collect::<Vec<Type>>()
                .map_err(protocol)?,
            Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
            _ => return Err(self.out_of_protocol("Describe")),
        };
        let columns = match self.next()? {
            Message::RowDescription(body) => body
                .fields()
                .map(|f| Ok(type_of(f.type_oid())))
                .collect::<Vec<Type>>()
                .map_err(protocol)?,
            Message::NoData => Vec::new(),
            Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
            _ => return Err(self.out_of_protocol("Describe")),
        };
        Ok(Response::Prepared(Statement(Arc::new(Prepared {
            name: name.to_string(),
            text: text.to_string(),
            params,
            columns,
        }))))
    }

    fn read_bind(&mut self) -> Result<(), WireError> {
        match self.next()? {
            Message::BindComplete => Ok(()),
            Message::ErrorResponse(body) => Err(parse_db_error(&body)),
            _ => Err(self.out_of_protocol("Bind")),
        }
    }

    fn read_rows(&mut self, st: &Statement) -> Result<Vec<Row>, WireError> {
        self.read_bind()?;
        let columns = &st.0.columns;
        let mut rows = Vec::new();
        // A cell that does not decode fails the request, but its answer is read to the end so
        // the connection stays usable.
        let mut undecodable = None;
        loop {
            match self.next()? {
                Message::DataRow(_) if undecodable.is_some() => {}
                Message::DataRow(body) => {
                    let buffer = body.buffer();
                    let mut ranges = body.ranges();
                    let mut row = Vec::with_capacity(columns.len());
                    let mut i = 0;
                    while let Some(range) = ranges.next().map_err(protocol)? {
                        let ty = columns
                            .get(i)
                            .ok_or_else(|| protocol("more columns than described"))?;
                        let cell = match range {
                            Some(r) => Cell::from_sql(ty, &buffer[r]),
                            None => Cell::from_sql_null(ty),
                        };
                        match cell {
                            Ok(cell) => row.push(cell.0),
                            Err(e) => {
                                undecodable = Some(WireError::Encode(format!(
                                    "error deserializing column {i}: {e}"
                                )));
                                break;
                            }
                        }
                        i += 1;
                    }
                    rows.push(row);
                }
                Message::CommandComplete(_) | Message::EmptyQueryResponse => {
                    return match undecodable {
                        Some(e) => Err(e),
                        None => Ok(rows),
                    }
                }
                Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
                _ => return Err(self.out_of_protocol("Execute")),
            }
        }
    }

    fn read_count(&mut self) -> Result<u64, WireError> {
        self.read_bind()?;
        loop {
            match self.next()? {
                Message::DataRow(_) => {}
                Message::CommandComplete(body) => {
                    let tag = body.tag().map_err(protocol)?;
                    return Ok(tag
                        .rsplit(' ')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0));
                }
                Message::EmptyQueryResponse => return Ok(0),
                Message::ErrorResponse(body) => return Err(parse_db_error(&body)),
                _ => return Err(self.out_of_protocol("Execute")),
            }
        }
    }

    fn read_simple(&mut self) -> Result<(), WireError> {
        let mut failure = None;
        loop {
            match self.next()? {
                Message::ReadyForQuery(_) => break,
                Message::ErrorResponse(body) => {
                    if failure.is_none() {
                        failure = Some(parse_db_error(&body));
                    }
                }
                Message::RowDescription(_)
                | Message::DataRow(_)
                | Message::CommandComplete(_)
                | Message::EmptyQueryResponse => {}
                _ => return Err(self.out_of_protocol("a simple query")),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn read_until_ready(&mut self) -> Result<(), WireError> {
        match self.next()? {
            Message::ReadyForQuery(_) => Ok(()),
            Message::ErrorResponse(body) => Err(parse_db_error(&body)),
            _ => Err(self.out_of_protocol("Sync")),
        }
    }
}

/// The request a step answers, if any.
fn step_request(step: &Step) -> Option<usize> {
    match step {
        Step::Prepare(i, _) | Step::Run(i) | Step::Simple(i) => Some(*i),
        Step::Close(_) | Step::Sync => None,
    }
}

/// The type of a parameter or column. Types that are not built in get a placeholder that no
/// value converts to (the conversions in `values.rs` handle built-in types only).
fn type_of(oid: u32) -> Type {
    Type::from_oid(oid)
        .unwrap_or_else(|| Type::new(format!("oid {oid}"), oid, Kind::Simple, String::new()))
}

/// Bind (every parameter binary, in the form its type needs; every result column binary) and
/// Execute of the unnamed portal.
fn bind(st: &Statement, params: &[SqlValue], out: &mut BytesMut) -> Result<(), WireError> {
    let encoded = encode_params(st, params)?;
    write_bind(st, &encoded, out);
    Ok(())
}

/// Length of the head of a Bind message for the unnamed portal and the unnamed statement:
/// tag, length, two empty names.
const BIND_HEAD: usize = 7;

/// The parameters of a Bind message of `st` (everything after the statement name: formats,
/// values, result formats), encoded for the types the server inferred. Encoding them when a
/// statement is queued, not when it is sent, means the queue holds bytes, not copies of the
/// values (documents included).
pub(crate) fn encode_params(st: &Statement, params: &[SqlValue]) -> Result<Bytes, WireError> {
    let types = st.params();
    if types.len() != params.len() {
        return Err(WireError::Encode(format!(
            "statement has {} placeholders but {} parameters were given",
            types.len(),
            params.len()
        )));
    }
    let mut buf = BytesMut::new();
    let mut index: usize = 0;
    let result = frontend::bind(
        "",
        "",
        std::iter::once(1),
        params.iter().zip(types),
        |(value, ty), buf| {
            index += 1;
            Param(value).to_sql(ty, buf).map(|n| match n {
                tokio_postgres::types::IsNull::Yes => IsNull::Yes,
                tokio_postgres::types::IsNull::No => IsNull::No,
            })
        },
        std::iter::once(1),
        &mut buf,
    );
    match result {
        Ok(()) => Ok(buf.freeze().slice(BIND_HEAD..)),
        Err(frontend::BindError::Conversion(e)) => Err(WireError::Encode(format!(
            "error serializing parameter {}: {e}",
            index.saturating_sub(1)
        ))),
        Err(frontend::BindError::Serialization(e)) => {
            Err(WireError::Encode(format!("cannot send the statement: {e}")))
        }
    }
}

/// Writes Bind of `st` with parameters from [`encode_params`], and Execute.
fn write_bind(st: &Statement, encoded: &[u8], out: &mut BytesMut) {
    let name = st.0.name.as_bytes();
    let len = 4 + 1 + name.len() + 1 + encoded.len();
    out.reserve(1 + len + 10);
    out.put_u8(b'B');
    // Statement names are short and parameters are bounded by the queue (far below 2 GiB).
    out.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
    out.put_u8(0);
    out.put_slice(name);
    out.put_u8(0);
    out.put_slice(encoded);
    // Execute of the unnamed portal, all rows: tag, length, empty name, row limit 0.
    out.put_u8(b'E');
    out.put_i32(9);
    out.put_u8(0);
    out.put_i32(0);
}

/// A TCP connection to the first address that accepts, configured as the URL says.
fn tcp(
    addrs: &[SocketAddr],
    timeout: Option<Duration>,
    config: &Config,
) -> Result<Stream, WireError> {
    let mut last = None;
    for addr in addrs {
        let connected = match timeout {
            Some(t) => TcpStream::connect_timeout(addr, t),
            None => TcpStream::connect(addr),
        };
        match connected {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(WireError::Io)?;
                if config.get_keepalives() {
                    let keepalive =
                        socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
                    socket2::SockRef::from(&stream)
                        .set_tcp_keepalive(&keepalive)
                        .map_err(WireError::Io)?;
                }
                return Ok(Stream::Tcp(stream));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(WireError::Io(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolves to no address",
        )
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(name: &str, params: Vec<Type>) -> Statement {
        Statement(Arc::new(Prepared {
            name: name.to_string(),
            text: String::new(),
            params,
            columns: Vec::new(),
        }))
    }

    #[test]
    fn parameters_encoded_ahead_frame_the_same_bind_as_the_codec() {
        let st = statement("s42", vec![Type::INT8, Type::TEXT, Type::JSONB]);
        let params = [
            SqlValue::Int(7),
            SqlValue::Null,
            SqlValue::Json(serde_json::json!({"a": [1, "x"]})),
        ];
        let mut ours = BytesMut::new();
        bind(&st, &params, &mut ours).unwrap();
        let mut codec = BytesMut::new();
        let bound = frontend::bind(
            "",
            "s42",
            std::iter::once(1),
            params.iter().zip(st.params()),
            |(v, ty), buf| {
                Param(v).to_sql(ty, buf).map(|n| match n {
                    tokio_postgres::types::IsNull::Yes => IsNull::Yes,
                    tokio_postgres::types::IsNull::No => IsNull::No,
                })
            },
            std::iter::once(1),
            &mut codec,
        );
        assert!(bound.is_ok());
        frontend::execute("", 0, &mut codec).unwrap();
        assert_eq!(ours, codec);
    }

    #[test]
    fn parameters_that_do_not_fit_are_refused_before_anything_is_written() {
        let st = statement("s1", vec![Type::INT4]);
        let mut out = BytesMut::new();
        let e = bind(&st, &[SqlValue::Int(1 << 40)], &mut out).unwrap_err();
        assert!(
            matches!(&e, WireError::Encode(m) if m.contains("parameter 0")),
            "{e:?}"
        );
        let e = bind(&st, &[], &mut out).unwrap_err();
        assert!(
            matches!(&e, WireError::Encode(m) if m.contains("placeholders")),
            "{e:?}"
        );
        assert!(out.is_empty());
    }
}
