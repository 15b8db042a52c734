//! The back end per function, overlapped with IR generation (as Cranelift compiles per
//! function).
//!
//! IR generation hands every finished body, by value, to a [`Sink`]. The sink passes it to
//! a [`Worker`] — on a thread of its own (over a channel, in batches of a few dozen small
//! functions), or inline on the generating thread for small programs and
//! `METEOR_THREADS=1` — which runs `passes::FUNCTION_PASSES` (instruction selection →
//! liveness → register allocation → stack layout → encoding) on that function alone and
//! keeps only its machine code (appended to an `encode::Code`, with its range and
//! relocations); the LIR is dropped right away.
//!
//! The worker never shares mutable state with the generating thread. It has its own mirror
//! of the module's declarations (functions with empty bodies, aggregate layouts, globals
//! without initializers), kept up to date by the append-only [`Decls`] sent with each
//! batch of bodies: everything appended to `ir::Module` since the previous batch. ABI
//! lowering runs on each declaration as it arrives, so every callee's ABI is known before a
//! body that calls it.
//!
//! Determinism: the worker handles bodies in the order they are sent (one thread, one
//! channel), so the constant pool it builds does not depend on thread timing, and
//! [`assemble`] places the functions in `FuncId` order. A threaded build and an inline one
//! produce the same bytes (tested in `backend/tests/pipeline.rs`).
//!
//! Errors: each function pass reports into its own list; as with whole-module passes, the
//! diagnostics kept are those of the passes up to the first one that reported an error,
//! and no later pass runs once one has. A panic on the worker becomes an internal-error
//! diagnostic when the worker is joined (the sender ignores a closed channel), never a hang.

use super::abi::FuncAbi;
use super::encode::Code;
use super::lir::{Conv, MFunc};
use super::liveness::Liveness;
use crate::compilation::{Compilation, Options};
use crate::diag::Diagnostics;
use crate::ir::{self, Body, FuncId, FunctionKind, Module};
use crate::passes::FUNCTION_PASSES;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Below this many function bodies the back end runs inline on the generating thread:
/// starting a thread costs more than the overlap saves.
const THREAD_MIN_BODIES: usize = 128;

/// One function on its way through the function passes.
pub struct FuncJob<'a> {
    /// The worker: module mirror, ABIs, encoder, results, printed LIR.
    pub w: &'a mut Worker,
    pub id: FuncId,
    pub body: Body,
    /// LIR (instruction selection; rewritten by register allocation, framed by stack
    /// layout, taken by encoding).
    pub mf: Option<MFunc>,
    /// Intervals (liveness; taken by register allocation).
    pub live: Option<Liveness>,
    /// Errors of the pass being run.
    pub diags: Diagnostics,
}

/// What the worker accumulates over all functions.
pub struct Worker {
    /// Mirror of the module's declarations: functions (empty bodies), aggregates, globals
    /// (names and sizes only).
    pub m: Module,
    /// ABI of every function of `m`.
    pub abi: Vec<FuncAbi>,
    pub conv: Conv,
    /// The code of the functions encoded so far (one buffer, one constant pool).
    pub code: Code,
    /// `--print-lir`: text after instruction selection and after register allocation.
    pub print_lir: bool,
    pub lir_isel: String,
    pub lir_ra: String,
    /// Errors of ABI lowering (index 0) and of each function pass (index 1 + pass).
    diags: Vec<Diagnostics>,
    /// Time of ABI lowering (index 0) and of each function pass, summed over functions
    /// (only with `Options::measure`: reading the clock is not free).
    times: Vec<Duration>,
    measure: bool,
    /// The first index of `diags` with an error (`usize::MAX`: none).
    first_error: usize,
}

/// Declarations appended to the module since the previous job.
struct Decls {
    functions: Vec<ir::Function>,
    aggregates: Vec<ir::AggLayout>,
    globals: Vec<ir::Global>,
}

/// One message to the worker: new declarations, then a batch of bodies (empty for the
/// last message).
struct Job {
    decls: Decls,
    bodies: Vec<(FuncId, Body)>,
}

/// Bodies are sent in batches of about this many IR instructions: waking the worker for
/// every small function (a futex system call each time it waits) cost ~2 ms of the
/// generating thread on the 5,000-function benchmark.
const BATCH_INSTS: usize = 1024;

/// Everything the worker hands back when joined.
pub struct WorkerOutput {
    pub code: Code,
    pub diags: Diagnostics,
    /// (pass name, time summed over functions): "lower ABI", then every function pass
    /// (empty without `Options::measure`).
    pub times: Vec<(&'static str, Duration)>,
    pub lir_isel: String,
    pub lir_ra: String,
}

impl Worker {
    pub fn new(options: &Options) -> Self {
        Worker {
            m: Module::new(options.target),
            abi: Vec::new(),
            conv: super::lower::conv_for(options.target),
            code: Code::default(),
            print_lir: options.print.lir,
            lir_isel: String::new(),
            lir_ra: String::new(),
            diags: (0..=FUNCTION_PASSES.len())
                .map(|_| Diagnostics::default())
                .collect(),
            times: vec![Duration::ZERO; FUNCTION_PASSES.len() + 1],
            measure: options.measure,
            first_error: usize::MAX,
        }
    }

    /// Adds declarations to the mirror and lowers the ABI of the new functions.
    fn declare(&mut self, d: Decls) {
        let start = self.measure.then(Instant::now);
        self.m.aggregates.extend(d.aggregates);
        self.m.globals.extend(d.globals);
        let target = self.m.target;
        for f in d.functions {
            let a = super::lower::function_abi(
                self.conv,
                target,
                &f,
                &self.m.aggregates,
                &mut self.diags[0],
            );
            self.abi.push(a);
            self.m.functions.push(f);
        }
        if !self.diags[0].errors.is_empty() {
            self.first_error = 0;
        }
        if let Some(start) = start {
            self.times[0] += start.elapsed();
        }
    }

    /// Runs the function passes on one body (declared in the mirror).
    fn compile(&mut self, id: FuncId, body: Body) {
        // Unit tests check that a panic here becomes a diagnostic, not a hang.
        #[cfg(test)]
        if self.m.func(id).name == "main.meteor_test_backend_panic" {
            panic!("test panic in the back end");
        }
        let mut j = FuncJob {
            w: self,
            id,
            body,
            mf: None,
            live: None,
            diags: Diagnostics::default(),
        };
        for (i, pass) in FUNCTION_PASSES.iter().enumerate() {
            if j.w.first_error <= i {
                break;
            }
            let start = j.w.measure.then(Instant::now);
            (pass.run)(&mut j);
            if let Some(start) = start {
                j.w.times[i + 1] += start.elapsed();
            }
            if !j.diags.errors.is_empty() {
                let w = &mut *j.w;
                w.diags[i + 1].errors.append(&mut j.diags.errors);
                w.first_error = w.first_error.min(i + 1);
                break;
            }
        }
    }

    fn finish(self) -> WorkerOutput {
        let mut diags = Diagnostics::default();
        for (i, d) in self.diags.into_iter().enumerate() {
            if i > self.first_error {
                break;
            }
            diags.errors.extend(d.errors);
        }
        let names = std::iter::once("lower ABI").chain(FUNCTION_PASSES.iter().map(|p| p.name));
        WorkerOutput {
            code: self.code,
            diags,
            times: match self.measure {
                true => names.zip(self.times).collect(),
                false => Vec::new(),
            },
            lir_isel: self.lir_isel,
            lir_ra: self.lir_ra,
        }
    }
}

enum Mode {
    Inline(Box<Worker>),
    Thread {
        tx: mpsc::Sender<Job>,
        handle: std::thread::JoinHandle<WorkerOutput>,
        /// Bodies not sent yet, and their instruction count.
        batch: Vec<(FuncId, Body)>,
        batch_insts: usize,
    },
}

/// Where IR generation sends finished bodies. See the module documentation.
pub struct Sink {
    mode: Mode,
    /// How many functions, aggregates and globals of the module the worker has seen.
    sent_functions: usize,
    sent_aggregates: usize,
    sent_globals: usize,
}

/// Whether the back end gets a thread of its own for a program of `bodies` functions:
/// `Options::back_end_thread` if set; else `METEOR_THREADS=1` says no and
/// `METEOR_THREADS=2` (or more) yes whatever the size (for testing); else yes when there
/// are enough bodies and a second core.
fn use_thread(options: &Options, bodies: usize) -> bool {
    if let Some(t) = options.back_end_thread {
        return t;
    }
    if let Some(n) = std::env::var("METEOR_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
    {
        return n >= 2;
    }
    bodies >= THREAD_MIN_BODIES && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

impl Sink {
    /// A sink for a program of about `bodies` function bodies.
    pub fn new(options: &Options, bodies: usize) -> Sink {
        let mut worker = Box::new(Worker::new(options));
        // The mirror and the ABI table hold every function: sized once (growing them by
        // doubling took a fresh block, and its page faults, per step).
        worker.m.functions.reserve_exact(bodies);
        worker.abi.reserve_exact(bodies);
        worker.code.ranges.reserve_exact(bodies);
        let mode = if use_thread(options, bodies) {
            let (tx, rx) = mpsc::channel::<Job>();
            let spawned = std::thread::Builder::new()
                .name("meteor-backend".into())
                .spawn(move || {
                    let mut w = worker;
                    for job in rx {
                        w.declare(job.decls);
                        for (id, body) in job.bodies {
                            w.compile(id, body);
                        }
                    }
                    w.finish()
                });
            match spawned {
                Ok(handle) => Mode::Thread {
                    tx,
                    handle,
                    batch: Vec::new(),
                    batch_insts: 0,
                },
                // No thread to be had: run inline.
                Err(_) => Mode::Inline(Box::new(Worker::new(options))),
            }
        } else {
            Mode::Inline(worker)
        };
        Sink {
            mode,
            sent_functions: 0,
            sent_aggregates: 0,
            sent_globals: 0,
        }
    }

    /// Whether the back end runs on its own thread.
    pub fn threaded(&self) -> bool {
        matches!(self.mode, Mode::Thread { .. })
    }

    /// The declarations of `m` the worker has not seen yet.
    fn new_decls(&mut self, m: &Module) -> Decls {
        let functions = m.functions[self.sent_functions..]
            .iter()
            .map(|f| ir::Function {
                name: f.name.clone(),
                sig: f.sig.clone(),
                kind: match &f.kind {
                    FunctionKind::Defined(_) => FunctionKind::Defined(Body::default()),
                    k => k.clone(),
                },
                noreturn: f.noreturn,
                is_process_entry: f.is_process_entry,
                exported: f.exported,
            })
            .collect();
        let aggregates = m.aggregates[self.sent_aggregates..].to_vec();
        let globals = m.globals[self.sent_globals..]
            .iter()
            .map(|g| ir::Global {
                name: g.name.clone(),
                size: g.size,
                align: g.align,
                init: None,
                mutable: g.mutable,
                relocs: Vec::new(),
                exported: g.exported,
            })
            .collect();
        self.sent_functions = m.functions.len();
        self.sent_aggregates = m.aggregates.len();
        self.sent_globals = m.globals.len();
        Decls {
            functions,
            aggregates,
            globals,
        }
    }

    /// Hands the body of function `id` (declared in `m`) to the back end.
    pub fn function(&mut self, m: &Module, id: FuncId, body: Body) {
        match &mut self.mode {
            Mode::Inline(_) => {
                let decls = self.new_decls(m);
                if let Mode::Inline(w) = &mut self.mode {
                    w.declare(decls);
                    w.compile(id, body);
                }
            }
            Mode::Thread {
                batch, batch_insts, ..
            } => {
                *batch_insts += body.insts.len();
                batch.push((id, body));
                if *batch_insts >= BATCH_INSTS {
                    self.send(m);
                }
            }
        }
    }

    /// Sends the declarations the worker has not seen and the pending bodies.
    fn send(&mut self, m: &Module) {
        let decls = self.new_decls(m);
        if let Mode::Thread {
            tx,
            batch,
            batch_insts,
            ..
        } = &mut self.mode
        {
            *batch_insts = 0;
            // A closed channel means the worker panicked: `finish` reports it.
            let _ = tx.send(Job {
                decls,
                bodies: std::mem::take(batch),
            });
        }
    }

    /// Sends the last declarations and waits for the back end. `Err` describes a panic
    /// of the worker.
    pub fn finish(mut self, m: &Module) -> Result<WorkerOutput, String> {
        if self.threaded() {
            self.send(m);
        }
        let decls = self.new_decls(m);
        match self.mode {
            Mode::Inline(mut w) => {
                w.declare(decls);
                Ok(w.finish())
            }
            Mode::Thread { tx, handle, .. } => {
                drop(tx);
                handle.join().map_err(|payload| {
                    payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into())
                })
            }
        }
    }
}

/// Pass: waits for the back end to finish every function, and collects its diagnostics,
/// printed LIR and per-pass times.
pub fn finish(c: &mut Compilation) {
    let Some(sink) = c.back.sink.take() else {
        return;
    };
    match sink.finish(&c.ir) {
        Ok(mut out) => {
            c.diags.errors.append(&mut out.diags.errors);
            if c.options.print.lir {
                c.printed.push_str("; LIR after instruction selection\n");
                c.printed.push_str(&out.lir_isel);
                if !out.lir_ra.is_empty() || !c.diags.has_errors() {
                    c.printed.push_str("; LIR after register allocation\n");
                    c.printed.push_str(&std::mem::take(&mut out.lir_ra));
                }
            }
            c.back.function_times = std::mem::take(&mut out.times);
            c.back.output = Some(out);
        }
        Err(message) => c.diags.error_no_span(format!(
            "internal compiler error: the back end panicked: {message}"
        )),
    }
}

/// Pass: builds `c.object` from the per-function code, in `FuncId` order.
pub fn assemble(c: &mut Compilation) {
    let Some(out) = c.back.output.take() else {
        return;
    };
    super::encode::assemble(c, out.code);
}

/// Runs the back end on every body of `c.ir` (taking them out of the module), inline, and
/// leaves the result for [`finish`]. For modules built whole: `--print-ir`, tests.
pub fn compile_module_bodies(c: &mut Compilation) {
    let bodies =
        c.ir.functions
            .iter()
            .filter(|f| matches!(f.kind, FunctionKind::Defined(_)))
            .count();
    let mut sink = Sink::new(&c.options, bodies);
    for i in 0..c.ir.functions.len() {
        if let FunctionKind::Defined(body) = &mut c.ir.functions[i].kind {
            let body = std::mem::take(body);
            sink.function(&c.ir, FuncId(i as u32), body);
        }
    }
    c.back.sink = Some(sink);
}
