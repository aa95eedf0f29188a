//! Sample mode's stack sampler: a timer sends the guest thread `SIGPROF`
//! every interval; the handler reads the interrupted PC and frame pointer
//! and walks Cranelift's frame-pointer chain (wasmtime always keeps frame
//! pointers) into a preallocated lock-free ring, which another thread
//! drains and symbolizes against the compiled module's function table.
//!
//! Each sample weighs the thread's CPU time since the previous one. The
//! timer runs on the monotonic clock because the kernel checks CPU-time
//! timers only at its scheduler tick (4 ms at 250 Hz); a tick finding the
//! thread mostly off the CPU (blocked in a host call) is not a sample, and
//! its CPU time carries over to the next.
//!
//! Unlike wasmtime's epoch checks, which only run at function entries and
//! loop headers, the signal lands on any instruction, so a loop-free leaf
//! gets its own samples, and the module pays no check at all.
//!
//! A sample outside the module's code is either inside a host call (WASI),
//! which the store's call hook attributes when the call returns — the wasm
//! stack is then captured once, only for calls that were sampled — or
//! inside the engine itself (libcalls such as `memory.grow`, trampolines),
//! charged to an `[engine]` frame.
//!
//! x86-64 Linux only; elsewhere `start` returns `None` and the runner keeps
//! the epoch sampler. The handler only loads and stores atomics, reads the
//! interrupted thread's stack within its bounds and the module's code, and
//! calls `clock_gettime`: all async-signal-safe.
#![allow(unsafe_code)]

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use wasmtime::Module;

/// Frames walked per sample; deeper stacks keep their innermost frames and
/// are rooted at `[truncated]`.
pub const MAX_FRAMES: usize = 2048;

/// Ring capacity in words: many samples of the deepest stack between two
/// drains.
const RING_WORDS: usize = 1 << 18;

/// Record header kinds.
const KIND_WASM: u64 = 0;
const KIND_ENGINE: u64 = 1;

/// The one sampler the handler serves (a process profiles one guest).
static ACTIVE: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());

/// What the handler and the consumer share.
#[derive(Debug)]
struct Shared {
    thread: libc::pthread_t,
    text: Range<usize>,
    /// The guest thread's stack; every frame pointer followed lies in it.
    stack: Range<usize>,
    ring: Box<[AtomicU64]>,
    /// Words written and words consumed, both only ever growing.
    head: AtomicUsize,
    tail: AtomicUsize,
    dropped: AtomicU64,
    last_cpu_ns: AtomicU64,
    /// A tick with less CPU time than this since the last sample is not one.
    min_cpu_ns: u64,
    /// Set by the store's call hook while a host function runs.
    in_host: AtomicBool,
    /// Calls into wasm under way (the call hook counts them): outside them
    /// the thread is setting up or writing the profile, not the guest.
    in_wasm: AtomicU32,
    host_ns: AtomicU64,
    host_samples: AtomicU64,
    /// CPU time spent in the handler itself.
    handler_ns: AtomicU64,
}

/// The running sampler; stopped on drop. Lives on the guest thread.
#[derive(Debug)]
pub struct SignalSampler {
    shared: Arc<Shared>,
    timer: libc::timer_t,
}

/// The consumer's side: drains the ring from any thread.
#[derive(Debug, Clone)]
pub struct Drain {
    shared: Arc<Shared>,
    /// (start, end, function index) in text offsets, sorted by start.
    functions: Arc<Vec<(usize, usize, u32)>>,
    /// Text offset → module offset of the wasm instruction compiled there,
    /// sorted; empty when source lines aren't wanted.
    addresses: Arc<Vec<(usize, Option<u32>)>>,
}

/// The store's call hook's side: host-call samples.
#[derive(Debug, Clone)]
pub struct HostCalls {
    shared: Arc<Shared>,
}

/// A sampled stack, outermost frame first: function index and the module
/// offset of the frame's instruction, when known.
pub type Stack = Vec<(u32, Option<u32>)>;

/// Samples aggregated by stack.
#[derive(Debug, Default)]
pub struct Stacks {
    /// By (stack, truncated): (ns, samples).
    pub stacks: std::collections::HashMap<(Stack, bool), (u64, u64)>,
    /// Samples in the engine's own code.
    pub engine: (u64, u64),
}

/// What the sampler cost and lost.
#[derive(Debug, Default, Clone, Copy)]
pub struct Overhead {
    pub handler_ns: u64,
    pub dropped: u64,
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The calling thread's stack, from its attributes.
fn current_stack() -> Option<Range<usize>> {
    // SAFETY: plain libc calls on an attribute object we own and destroy.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr = std::ptr::null_mut();
        let mut size = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then(|| addr as usize..addr as usize + size)
    }
}

impl SignalSampler {
    /// Starts sampling the calling thread (the one that will run `module`)
    /// every `interval`; with `offsets`, frames carry the module offset of
    /// their instruction (for source lines). `None` when this platform or
    /// process can't: the caller falls back to epochs.
    pub fn start(
        module: &Module,
        interval: Duration,
        offsets: bool,
    ) -> Option<(SignalSampler, Drain, HostCalls)> {
        if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            return None;
        }
        let text = module.text().as_ptr_range();
        let text = text.start as usize..text.end as usize;
        let mut functions: Vec<(usize, usize, u32)> = module
            .functions()
            .map(|f| (f.offset, f.offset + f.len, f.index.as_u32()))
            .collect();
        functions.sort_unstable();
        let shared = Arc::new(Shared {
            // SAFETY: always safe to call.
            thread: unsafe { libc::pthread_self() },
            text,
            stack: current_stack()?,
            ring: (0..RING_WORDS).map(|_| AtomicU64::new(0)).collect(),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            last_cpu_ns: AtomicU64::new(thread_cpu_ns()),
            min_cpu_ns: interval.as_nanos() as u64 / 2,
            in_host: AtomicBool::new(false),
            in_wasm: AtomicU32::new(0),
            host_ns: AtomicU64::new(0),
            host_samples: AtomicU64::new(0),
            handler_ns: AtomicU64::new(0),
        });
        let ptr = Arc::as_ptr(&shared) as *mut Shared;
        if ACTIVE
            .compare_exchange(
                std::ptr::null_mut(),
                ptr,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return None;
        }
        let timer = match install(interval) {
            Some(t) => t,
            None => {
                ACTIVE.store(std::ptr::null_mut(), Ordering::Release);
                return None;
            }
        };
        let addresses = match module.address_map().filter(|_| offsets) {
            Some(map) => map.collect(),
            None => Vec::new(),
        };
        let drain = Drain {
            shared: shared.clone(),
            functions: Arc::new(functions),
            addresses: Arc::new(addresses),
        };
        let host = HostCalls {
            shared: shared.clone(),
        };
        Some((SignalSampler { shared, timer }, drain, host))
    }

    /// Stops the timer; samples already taken stay in the ring for the
    /// drain. Returns what sampling cost.
    pub fn stop(self) -> Overhead {
        let o = Overhead {
            handler_ns: self.shared.handler_ns.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        };
        drop(self);
        o
    }
}

impl Drop for SignalSampler {
    fn drop(&mut self) {
        // SAFETY: `timer` came from `timer_create` and is deleted once. A
        // signal still pending finds `ACTIVE` cleared and returns; the
        // handler stays installed because SIGPROF's default action kills.
        unsafe { libc::timer_delete(self.timer) };
        ACTIVE.store(std::ptr::null_mut(), Ordering::Release);
    }
}

/// Installs the handler and arms a timer signalling the calling thread.
fn install(interval: Duration) -> Option<libc::timer_t> {
    // SAFETY: a zeroed sigaction/sigevent is a valid starting value; the
    // handler has the SA_SIGINFO signature; the timer targets this thread.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigprof as *const () as usize;
        // SA_RESTART: a host call interrupted by a sample resumes.
        // SA_ONSTACK: wasmtime gives the guest thread an alternate stack, so
        // a sample near stack exhaustion doesn't overflow it.
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
            return None;
        }
        let mut event: libc::sigevent = std::mem::zeroed();
        event.sigev_notify = libc::SIGEV_THREAD_ID;
        event.sigev_signo = libc::SIGPROF;
        event.sigev_notify_thread_id = libc::gettid();
        let mut timer: libc::timer_t = std::mem::zeroed();
        if libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) != 0 {
            return None;
        }
        let every = libc::timespec {
            tv_sec: interval.as_secs() as libc::time_t,
            tv_nsec: interval.subsec_nanos() as libc::c_long,
        };
        let spec = libc::itimerspec {
            it_interval: every,
            it_value: every,
        };
        if libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) != 0 {
            libc::timer_delete(timer);
            return None;
        }
        Some(timer)
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn registers(ctx: *mut libc::c_void) -> (usize, usize, usize) {
    // SAFETY (caller): `ctx` is the ucontext the kernel passed to an
    // SA_SIGINFO handler.
    let gregs = unsafe { &(*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs };
    (
        gregs[libc::REG_RIP as usize] as usize,
        gregs[libc::REG_RBP as usize] as usize,
        gregs[libc::REG_RSP as usize] as usize,
    )
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
unsafe fn registers(_: *mut libc::c_void) -> (usize, usize, usize) {
    (0, 0, 0)
}

extern "C" fn on_sigprof(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let p = ACTIVE.load(Ordering::Acquire);
    if p.is_null() {
        return;
    }
    // SAFETY: `ACTIVE` points into an `Arc<Shared>` that the guest thread's
    // `SignalSampler` keeps alive until it clears `ACTIVE`; the handler
    // only runs on that thread (checked next), so the sampler can't be
    // dropped while the handler runs.
    let s = unsafe { &*p };
    // SAFETY: always safe to call.
    if unsafe { libc::pthread_self() } != s.thread {
        return;
    }
    let now = thread_cpu_ns();
    let ns = now.saturating_sub(s.last_cpu_ns.load(Ordering::Relaxed));
    if ns < s.min_cpu_ns {
        return;
    }
    s.last_cpu_ns.store(now, Ordering::Relaxed);
    // SAFETY: the kernel passed `ctx` to this SA_SIGINFO handler.
    let (pc, fp, sp) = unsafe { registers(ctx) };
    if !s.text.contains(&pc) {
        if s.in_wasm.load(Ordering::Relaxed) == 0 {
            // Not the guest's time.
        } else if s.in_host.load(Ordering::Relaxed) {
            s.host_ns.fetch_add(ns, Ordering::Relaxed);
            s.host_samples.fetch_add(1, Ordering::Relaxed);
        } else {
            s.push(KIND_ENGINE, ns, |_| 0);
        }
    } else {
        s.push(KIND_WASM, ns, |out| s.walk(pc, fp, sp, out));
    }
    s.handler_ns
        .fetch_add(thread_cpu_ns().saturating_sub(now), Ordering::Relaxed);
}

impl Shared {
    /// Appends a record: a header (frame count, kind, truncated), the
    /// sample's time and the frames `fill` writes. Drops the sample when
    /// the ring could not take the deepest stack.
    fn push(&self, kind: u64, ns: u64, fill: impl FnOnce(&mut dyn FnMut(usize) -> bool) -> usize) {
        let cap = self.ring.len();
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if cap - (head - tail) < 2 + MAX_FRAMES + 1 {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut n = 0;
        let mut truncated = false;
        let written = fill(&mut |pc| {
            if n == MAX_FRAMES {
                truncated = true;
                return false;
            }
            self.ring[(head + 2 + n) % cap].store(pc as u64, Ordering::Relaxed);
            n += 1;
            true
        });
        debug_assert!(written <= MAX_FRAMES);
        let header = n as u64 | kind << 32 | (truncated as u64) << 40;
        self.ring[head % cap].store(header, Ordering::Relaxed);
        self.ring[(head + 1) % cap].store(ns, Ordering::Relaxed);
        self.head.store(head + 2 + n, Ordering::Release);
    }

    /// The 8-byte word at `addr` of the interrupted stack, if it lies in
    /// `[sp, stack end)`.
    fn stack_word(&self, addr: usize, sp: usize) -> Option<usize> {
        if addr < sp
            || addr < self.stack.start
            || addr + 8 > self.stack.end
            || !addr.is_multiple_of(8)
        {
            return None;
        }
        // SAFETY: in the guest thread's live stack (at or above the
        // interrupted stack pointer), aligned; the thread is stopped in
        // this handler, so nothing writes it concurrently.
        Some(unsafe { (addr as *const usize).read() })
    }

    /// The module code byte at `addr`.
    fn code_byte(&self, addr: usize) -> Option<u8> {
        // SAFETY: the compiled module's text is mapped readable for the
        // module's lifetime, which outlives the sampler.
        self.text
            .contains(&addr)
            .then(|| unsafe { (addr as *const u8).read() })
    }

    /// Walks the frame-pointer chain from an interrupted wasm PC, writing
    /// the PC then each return address that lies in the module's code.
    fn walk(&self, pc: usize, fp: usize, sp: usize, out: &mut dyn FnMut(usize) -> bool) -> usize {
        let mut n = 0;
        let mut emit = |a: usize| {
            let ok = out(a);
            n += ok as usize;
            ok
        };
        if !emit(pc) {
            return n;
        }
        // Cranelift's x86-64 prologue is `push rbp; mov rbp, rsp`, its
        // epilogue ends `pop rbp; ret`. Interrupted at `push rbp` or `ret`,
        // the frame pointer is still the caller's and the return address is
        // at [rsp]; at `mov rbp, rsp`, at [rsp + 8]. Without this the
        // caller would be skipped.
        let at = self.code_byte(pc);
        let pending = if at == Some(0x55) || at == Some(0xC3) {
            self.stack_word(sp, sp)
        } else if at == Some(0x48)
            && self.code_byte(pc + 1) == Some(0x89)
            && self.code_byte(pc + 2) == Some(0xE5)
            && pc > self.text.start
            && self.code_byte(pc - 1) == Some(0x55)
        {
            self.stack_word(sp + 8, sp)
        } else {
            None
        };
        if let Some(ret) = pending
            && (!self.text.contains(&ret) || !emit(ret))
        {
            return n;
        }
        let mut fp = fp;
        while let (Some(next), Some(ret)) = (self.stack_word(fp, sp), self.stack_word(fp + 8, sp)) {
            // Leaving the module's code (into the host that called it) ends
            // the wasm stack.
            if !self.text.contains(&ret) || !emit(ret) || next <= fp {
                break;
            }
            fp = next;
        }
        n
    }
}

/// Whether [`SignalSampler::start`] can work here: the platform, and no
/// other sampler running in this process.
pub fn available() -> bool {
    cfg!(all(target_os = "linux", target_arch = "x86_64"))
        && ACTIVE.load(Ordering::Acquire).is_null()
}

impl Drain {
    /// What sampling has cost so far.
    pub fn overhead(&self) -> Overhead {
        Overhead {
            handler_ns: self.shared.handler_ns.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Moves the samples in the ring into `into`.
    pub fn drain(&self, into: &mut Stacks) {
        let s = &self.shared;
        let cap = s.ring.len();
        let head = s.head.load(Ordering::Acquire);
        let mut tail = s.tail.load(Ordering::Relaxed);
        let mut frames = Vec::new();
        while tail < head {
            let header = s.ring[tail % cap].load(Ordering::Relaxed);
            let ns = s.ring[(tail + 1) % cap].load(Ordering::Relaxed);
            let n = (header & 0xffff_ffff) as usize;
            let kind = (header >> 32) & 0xff;
            let truncated = header >> 40 & 1 == 1;
            frames.clear();
            for i in 0..n {
                let pc = s.ring[(tail + 2 + i) % cap].load(Ordering::Relaxed) as usize;
                // A return address follows its call, which may end the
                // function: look up the byte before it.
                let at = if i == 0 { pc } else { pc - 1 };
                let Some(off) = at.checked_sub(s.text.start) else {
                    continue;
                };
                if let Some(f) = self.function_at(off) {
                    frames.push((f, self.module_offset(off)));
                }
            }
            tail += 2 + n;
            if kind == KIND_ENGINE || frames.is_empty() {
                into.engine.0 += ns;
                into.engine.1 += 1;
                continue;
            }
            frames.reverse();
            let e = into.stacks.entry((frames.clone(), truncated)).or_default();
            e.0 += ns;
            e.1 += 1;
        }
        s.tail.store(tail, Ordering::Release);
    }

    /// The module offset of the wasm instruction compiled at text offset
    /// `off`.
    fn module_offset(&self, off: usize) -> Option<u32> {
        let i = self.addresses.partition_point(|&(start, _)| start <= off);
        self.addresses.get(i.checked_sub(1)?)?.1
    }

    /// The function whose code holds text offset `off` (trampolines have
    /// none).
    fn function_at(&self, off: usize) -> Option<u32> {
        let i = self
            .functions
            .partition_point(|&(start, _, _)| start <= off);
        let &(start, end, index) = self.functions.get(i.checked_sub(1)?)?;
        (start..end).contains(&off).then_some(index)
    }
}

impl HostCalls {
    /// A host function is being entered (`true`) or has returned.
    pub fn set_in_host(&self, on: bool) {
        self.shared.in_host.store(on, Ordering::Relaxed);
    }

    /// The host calls into wasm (`true`) or such a call returns.
    pub fn set_in_wasm(&self, on: bool) {
        if on {
            self.shared.in_wasm.fetch_add(1, Ordering::Relaxed);
        } else {
            self.shared.in_wasm.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The (ns, samples) that landed in host calls since the last take.
    pub fn take(&self) -> (u64, u64) {
        let ns = self.shared.host_ns.swap(0, Ordering::Relaxed);
        let samples = self.shared.host_samples.swap(0, Ordering::Relaxed);
        (ns, samples)
    }
}
