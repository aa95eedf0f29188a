//! Raw `wasi_snapshot_preview1` bindings and reporting helpers for the
//! conformance guests.
//!
//! The guests call the syscalls directly (not through std) so that each
//! errno is observed exactly as the host returns it. Every check prints one
//! line; the native and JS runs must print the same lines.

#![allow(clippy::missing_safety_doc)]

pub type Fd = u32;
pub type Errno = u16;

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Fdstat {
    pub filetype: u8,
    pub flags: u16,
    pub rights_base: u64,
    pub rights_inheriting: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

#[repr(C)]
pub struct Iovec {
    pub buf: *mut u8,
    pub len: usize,
}

#[repr(C)]
pub struct Ciovec {
    pub buf: *const u8,
    pub len: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Subscription {
    pub userdata: u64,
    pub tag: u8,
    pub _pad: [u8; 7],
    /// clock: id (u32) at 0, timeout at 8, precision at 16, flags at 24; fd: fd at 0.
    pub u: [u64; 4],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Event {
    pub userdata: u64,
    pub error: u16,
    pub kind: u8,
    pub nbytes: u64,
    pub flags: u16,
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    pub fn clock_res_get(id: u32, out: *mut u64) -> Errno;
    pub fn clock_time_get(id: u32, precision: u64, out: *mut u64) -> Errno;
    pub fn fd_advise(fd: Fd, offset: u64, len: u64, advice: u8) -> Errno;
    pub fn fd_close(fd: Fd) -> Errno;
    pub fn fd_datasync(fd: Fd) -> Errno;
    pub fn fd_sync(fd: Fd) -> Errno;
    pub fn fd_fdstat_get(fd: Fd, out: *mut Fdstat) -> Errno;
    pub fn fd_fdstat_set_flags(fd: Fd, flags: u16) -> Errno;
    pub fn fd_filestat_get(fd: Fd, out: *mut Filestat) -> Errno;
    pub fn fd_filestat_set_size(fd: Fd, size: u64) -> Errno;
    pub fn fd_filestat_set_times(fd: Fd, atim: u64, mtim: u64, flags: u16) -> Errno;
    pub fn fd_pread(fd: Fd, iovs: *const Iovec, n: usize, offset: u64, out: *mut usize) -> Errno;
    pub fn fd_prestat_get(fd: Fd, out: *mut [u32; 2]) -> Errno;
    pub fn fd_prestat_dir_name(fd: Fd, buf: *mut u8, len: usize) -> Errno;
    pub fn fd_pwrite(fd: Fd, iovs: *const Ciovec, n: usize, offset: u64, out: *mut usize) -> Errno;
    pub fn fd_read(fd: Fd, iovs: *const Iovec, n: usize, out: *mut usize) -> Errno;
    pub fn fd_readdir(fd: Fd, buf: *mut u8, len: usize, cookie: u64, out: *mut usize) -> Errno;
    pub fn fd_renumber(from: Fd, to: Fd) -> Errno;
    pub fn fd_seek(fd: Fd, offset: i64, whence: u8, out: *mut u64) -> Errno;
    pub fn fd_tell(fd: Fd, out: *mut u64) -> Errno;
    pub fn fd_write(fd: Fd, iovs: *const Ciovec, n: usize, out: *mut usize) -> Errno;
    pub fn path_create_directory(fd: Fd, path: *const u8, len: usize) -> Errno;
    pub fn path_filestat_get(fd: Fd, flags: u32, path: *const u8, len: usize, out: *mut Filestat) -> Errno;
    pub fn path_filestat_set_times(fd: Fd, flags: u32, path: *const u8, len: usize, atim: u64, mtim: u64, fst: u16) -> Errno;
    pub fn path_link(ofd: Fd, oflags: u32, op: *const u8, ol: usize, nfd: Fd, np: *const u8, nl: usize) -> Errno;
    pub fn path_open(fd: Fd, dirflags: u32, path: *const u8, len: usize, oflags: u16, base: u64, inh: u64, fdflags: u16, out: *mut Fd) -> Errno;
    pub fn path_readlink(fd: Fd, path: *const u8, len: usize, buf: *mut u8, blen: usize, out: *mut usize) -> Errno;
    pub fn path_remove_directory(fd: Fd, path: *const u8, len: usize) -> Errno;
    pub fn path_rename(fd: Fd, op: *const u8, ol: usize, nfd: Fd, np: *const u8, nl: usize) -> Errno;
    pub fn path_symlink(op: *const u8, ol: usize, fd: Fd, np: *const u8, nl: usize) -> Errno;
    pub fn path_unlink_file(fd: Fd, path: *const u8, len: usize) -> Errno;
    pub fn poll_oneoff(subs: *const Subscription, events: *mut Event, n: usize, out: *mut usize) -> Errno;
    pub fn proc_exit(code: u32) -> !;
    pub fn proc_raise(sig: u8) -> Errno;
    pub fn random_get(buf: *mut u8, len: usize) -> Errno;
    pub fn sched_yield() -> Errno;
    pub fn sock_accept(fd: Fd, flags: u16, out: *mut Fd) -> Errno;
    pub fn sock_recv(fd: Fd, iovs: *const Iovec, n: usize, flags: u16, len: *mut usize, oflags: *mut u16) -> Errno;
    pub fn sock_send(fd: Fd, iovs: *const Ciovec, n: usize, flags: u16, len: *mut usize) -> Errno;
    pub fn sock_shutdown(fd: Fd, how: u8) -> Errno;
}

pub const RIGHTS_FD_READ: u64 = 1 << 1;
pub const RIGHTS_FD_SEEK: u64 = 1 << 2;
pub const RIGHTS_FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
pub const RIGHTS_FD_TELL: u64 = 1 << 5;
pub const RIGHTS_FD_WRITE: u64 = 1 << 6;
pub const RIGHTS_FD_READDIR: u64 = 1 << 14;
pub const RIGHTS_FD_FILESTAT_GET: u64 = 1 << 21;
pub const RIGHTS_FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
pub const RIGHTS_FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
/// What a guest asks for when it wants "everything" on a file.
pub const RIGHTS_FILE_ALL: u64 = RIGHTS_FD_READ
    | RIGHTS_FD_SEEK
    | RIGHTS_FD_FDSTAT_SET_FLAGS
    | RIGHTS_FD_TELL
    | RIGHTS_FD_WRITE
    | RIGHTS_FD_FILESTAT_GET
    | RIGHTS_FD_FILESTAT_SET_SIZE
    | RIGHTS_FD_FILESTAT_SET_TIMES
    | (1 << 0) | (1 << 4) | (1 << 7) | (1 << 8) | (1 << 27);
pub const RIGHTS_DIR_ALL: u64 = 0x7ffe00 | (1 << 14) | (7 << 24) | (1 << 21) | (1 << 23);
pub const OFLAGS_CREAT: u16 = 1;
pub const OFLAGS_DIRECTORY: u16 = 2;
pub const OFLAGS_EXCL: u16 = 4;
pub const OFLAGS_TRUNC: u16 = 8;
pub const FDFLAGS_APPEND: u16 = 1;
pub const FOLLOW: u32 = 1;
pub const SANDBOX: Fd = 3;

const NAMES: [&str; 77] = [
    "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN", "ALREADY", "BADF",
    "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED", "CONNREFUSED", "CONNRESET", "DEADLK",
    "DESTADDRREQ", "DOM", "DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH", "IDRM", "ILSEQ",
    "INPROGRESS", "INTR", "INVAL", "IO", "ISCONN", "ISDIR", "LOOP", "MFILE", "MLINK", "MSGSIZE",
    "MULTIHOP", "NAMETOOLONG", "NETDOWN", "NETRESET", "NETUNREACH", "NFILE", "NOBUFS", "NODEV",
    "NOENT", "NOEXEC", "NOLCK", "NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC", "NOSYS",
    "NOTCONN", "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP", "NOTTY", "NXIO",
    "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT", "PROTOTYPE", "RANGE", "ROFS",
    "SPIPE", "SRCH", "STALE", "TIMEDOUT", "TXTBSY", "XDEV", "NOTCAPABLE",
];

/// The witx name of an errno.
pub fn name(e: Errno) -> &'static str {
    NAMES.get(e as usize).copied().unwrap_or("?")
}

/// Prints `what: ERRNO`.
pub fn report(what: &str, e: Errno) {
    println!("{what}: {}", name(e));
}

/// Fails the guest (exit 1) if `e` is not success; the line says where.
pub fn ok(what: &str, e: Errno) {
    if e != 0 {
        println!("FAILED {what}: {}", name(e));
        unsafe { proc_exit(1) }
    }
}

/// Opens `path` under `dir` with `base` rights (children of a directory
/// may inherit every right); returns the fd or the errno.
pub fn open(dir: Fd, follow: u32, path: &str, oflags: u16, base: u64, fdflags: u16) -> Result<Fd, Errno> {
    let mut fd = 0;
    let e = unsafe { path_open(dir, follow, path.as_ptr(), path.len(), oflags, base, (1 << 30) - 1, fdflags, &mut fd) };
    if e == 0 { Ok(fd) } else { Err(e) }
}

pub fn write(fd: Fd, data: &[u8]) -> Result<usize, Errno> {
    let iov = Ciovec { buf: data.as_ptr(), len: data.len() };
    let mut n = 0;
    let e = unsafe { fd_write(fd, &iov, 1, &mut n) };
    if e == 0 { Ok(n) } else { Err(e) }
}

pub fn read(fd: Fd, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    let iov = Iovec { buf: buf.as_mut_ptr(), len };
    let mut n = 0;
    let e = unsafe { fd_read(fd, &iov, 1, &mut n) };
    if e != 0 {
        return Err(e);
    }
    buf.truncate(n);
    Ok(buf)
}

pub fn seek(fd: Fd, offset: i64, whence: u8) -> Result<u64, Errno> {
    let mut pos = 0;
    let e = unsafe { fd_seek(fd, offset, whence, &mut pos) };
    if e == 0 { Ok(pos) } else { Err(e) }
}

pub fn stat(dir: Fd, follow: u32, path: &str) -> Result<Filestat, Errno> {
    let mut st = Filestat::default();
    let e = unsafe { path_filestat_get(dir, follow, path.as_ptr(), path.len(), &mut st) };
    if e == 0 { Ok(st) } else { Err(e) }
}

pub fn fstat(fd: Fd) -> Result<Filestat, Errno> {
    let mut st = Filestat::default();
    let e = unsafe { fd_filestat_get(fd, &mut st) };
    if e == 0 { Ok(st) } else { Err(e) }
}

pub fn fdstat(fd: Fd) -> Result<Fdstat, Errno> {
    let mut st = Fdstat::default();
    let e = unsafe { fd_fdstat_get(fd, &mut st) };
    if e == 0 { Ok(st) } else { Err(e) }
}

pub fn mkdir(dir: Fd, path: &str) -> Errno {
    unsafe { path_create_directory(dir, path.as_ptr(), path.len()) }
}

pub fn rmdir(dir: Fd, path: &str) -> Errno {
    unsafe { path_remove_directory(dir, path.as_ptr(), path.len()) }
}

pub fn unlink(dir: Fd, path: &str) -> Errno {
    unsafe { path_unlink_file(dir, path.as_ptr(), path.len()) }
}

pub fn symlink(target: &str, dir: Fd, path: &str) -> Errno {
    unsafe { path_symlink(target.as_ptr(), target.len(), dir, path.as_ptr(), path.len()) }
}

pub fn rename(dir: Fd, from: &str, to_dir: Fd, to: &str) -> Errno {
    unsafe { path_rename(dir, from.as_ptr(), from.len(), to_dir, to.as_ptr(), to.len()) }
}

pub fn link(dir: Fd, follow: u32, from: &str, to_dir: Fd, to: &str) -> Errno {
    unsafe { path_link(dir, follow, from.as_ptr(), from.len(), to_dir, to.as_ptr(), to.len()) }
}

pub fn readlink(dir: Fd, path: &str, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    let mut n = 0;
    let e = unsafe { path_readlink(dir, path.as_ptr(), path.len(), buf.as_mut_ptr(), len, &mut n) };
    if e != 0 {
        return Err(e);
    }
    buf.truncate(n);
    Ok(buf)
}

/// Creates `path` with `content` (truncating).
pub fn create(dir: Fd, path: &str, content: &[u8]) -> Errno {
    match open(dir, 0, path, OFLAGS_CREAT | OFLAGS_TRUNC, RIGHTS_FILE_ALL, 0) {
        Ok(fd) => {
            let e = match write(fd, content) {
                Ok(_) => 0,
                Err(e) => e,
            };
            unsafe { fd_close(fd) };
            e
        }
        Err(e) => e,
    }
}

/// Entry names of a directory fd, sorted, with their type.
pub fn list(fd: Fd) -> Result<Vec<(String, u8)>, Errno> {
    let mut out = Vec::new();
    let mut cookie = 0u64;
    loop {
        let mut buf = vec![0u8; 128];
        let mut used = 0;
        let e = unsafe { fd_readdir(fd, buf.as_mut_ptr(), buf.len(), cookie, &mut used) };
        if e != 0 {
            return Err(e);
        }
        let mut at = 0;
        let mut complete = 0;
        while at + 24 <= used {
            let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
            let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
            let kind = buf[at + 20];
            if at + 24 + namlen > used {
                break;
            }
            out.push((String::from_utf8_lossy(&buf[at + 24..at + 24 + namlen]).into_owned(), kind));
            cookie = next;
            at += 24 + namlen;
            complete += 1;
        }
        if used < buf.len() {
            break;
        }
        if complete == 0 {
            return Err(61);
        }
    }
    out.sort();
    Ok(out)
}

pub fn filetype(t: u8) -> &'static str {
    ["unknown", "block", "char", "dir", "file", "dgram", "stream", "symlink"].get(t as usize).copied().unwrap_or("?")
}
