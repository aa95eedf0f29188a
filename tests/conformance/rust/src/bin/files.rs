//! Regular files: create, read/write, seek/tell, pread/pwrite, append,
//! truncation, sizes, timestamps, fd flags and read/write rights.

use wasi_conformance::*;

fn main() {
    let fd = open(SANDBOX, 0, "new.txt", OFLAGS_CREAT | OFLAGS_EXCL, RIGHTS_FILE_ALL, 0).unwrap();
    println!("write: {:?}", write(fd, b"abcdefghij"));
    println!("tell after write: {:?}", seek(fd, 0, 1));
    println!("seek set 2: {:?}", seek(fd, 2, 0));
    println!("read 3: {:?}", read(fd, 3).map(|b| String::from_utf8(b).unwrap()));
    println!("seek cur -1: {:?}", seek(fd, -1, 1));
    println!("seek end -2: {:?}", seek(fd, -2, 2));
    println!("read to end: {:?}", read(fd, 100).map(|b| String::from_utf8(b).unwrap()));
    println!("read at eof: {:?}", read(fd, 100).map(|b| b.len()));
    report("seek before start", seek(fd, -100, 1).err().unwrap_or(0));
    let mut pos = 0;
    report("fd_tell", unsafe { fd_tell(fd, &mut pos) });
    println!("tell: {pos}");

    let data = b"XY";
    let iov = Ciovec { buf: data.as_ptr(), len: 2 };
    let mut n = 0;
    report("pwrite at 4", unsafe { fd_pwrite(fd, &iov, 1, 4, &mut n) });
    println!("pwrite wrote {n}, position still {:?}", seek(fd, 0, 1));
    let mut b = [0u8; 6];
    let iov = Iovec { buf: b.as_mut_ptr(), len: 6 };
    report("pread at 2", unsafe { fd_pread(fd, &iov, 1, 2, &mut n) });
    println!("pread: {:?}", String::from_utf8_lossy(&b[..n]));
    report("pread past end", unsafe { fd_pread(fd, &iov, 1, 1000, &mut n) });
    println!("pread past end read {n}");

    // Writing past the end leaves a zero-filled gap.
    seek(fd, 14, 0).unwrap();
    write(fd, b"!").unwrap();
    println!("size after gap write: {}", fstat(fd).unwrap().size);
    unsafe { pread_all(fd) };

    report("set_size 4", unsafe { fd_filestat_set_size(fd, 4) });
    println!("size: {}", fstat(fd).unwrap().size);
    report("set_size 8", unsafe { fd_filestat_set_size(fd, 8) });
    unsafe { pread_all(fd) };

    // Timestamps.
    report("set times", unsafe { fd_filestat_set_times(fd, 1_000_000_000, 2_000_000_000, 1 | 4) });
    let st = fstat(fd).unwrap();
    println!("atim {} mtim {}", st.atim, st.mtim);
    report("set times ATIM|ATIM_NOW", unsafe { fd_filestat_set_times(fd, 0, 0, 1 | 2) });
    report("set times MTIM|MTIM_NOW", unsafe { fd_filestat_set_times(fd, 0, 0, 4 | 8) });
    println!("mtim unchanged: {}", fstat(fd).unwrap().mtim == 2_000_000_000);
    report("set mtim now", unsafe { fd_filestat_set_times(fd, 0, 0, 8) });
    let st = fstat(fd).unwrap();
    println!("mtim now recent: {}, atim kept: {}", st.mtim > 1_577_836_800_000_000_000, st.atim == 1_000_000_000);
    report("path set times", unsafe { path_filestat_set_times(SANDBOX, 0, "new.txt".as_ptr(), 7, 5, 6, 1 | 4) });
    let st = stat(SANDBOX, 0, "new.txt").unwrap();
    println!("path times: {} {}", st.atim, st.mtim);
    report("path set times both", unsafe { path_filestat_set_times(SANDBOX, 0, "new.txt".as_ptr(), 7, 5, 6, 1 | 2) });
    report("path set times missing", unsafe { path_filestat_set_times(SANDBOX, 0, "nope".as_ptr(), 4, 5, 6, 1) });
    report("fd_advise", unsafe { fd_advise(fd, 0, 10, 1) });
    report("fd_sync", unsafe { fd_sync(fd) });
    report("fd_datasync", unsafe { fd_datasync(fd) });
    let st = fstat(fd).unwrap();
    println!("filetype {} nlink {} size {}", filetype(st.filetype), st.nlink, st.size);
    unsafe { fd_close(fd) };

    // O_TRUNC and O_EXCL.
    report("excl on existing", open(SANDBOX, 0, "new.txt", OFLAGS_CREAT | OFLAGS_EXCL, RIGHTS_FILE_ALL, 0).err().unwrap_or(0));
    let fd = open(SANDBOX, 0, "new.txt", OFLAGS_TRUNC, RIGHTS_FILE_ALL, 0).unwrap();
    println!("size after O_TRUNC: {}", fstat(fd).unwrap().size);
    unsafe { fd_close(fd) };

    // Append mode, then switched off.
    create(SANDBOX, "log.txt", b"start\n");
    let fd = open(SANDBOX, 0, "log.txt", 0, RIGHTS_FILE_ALL, FDFLAGS_APPEND).unwrap();
    println!("append fdflags: {}", fdstat(fd).unwrap().flags);
    seek(fd, 0, 0).unwrap();
    write(fd, b"one\n").unwrap();
    println!("position after append: {:?}", seek(fd, 0, 1));
    report("clear append", unsafe { fd_fdstat_set_flags(fd, 0) });
    println!("fdflags now: {}", fdstat(fd).unwrap().flags);
    seek(fd, 0, 0).unwrap();
    write(fd, b"START").unwrap();
    report("set sync flag", unsafe { fd_fdstat_set_flags(fd, 16) });
    unsafe { fd_close(fd) };
    let fd = open(SANDBOX, 0, "log.txt", 0, RIGHTS_FD_READ, 0).unwrap();
    println!("log: {:?}", String::from_utf8(read(fd, 100).unwrap()).unwrap());

    // Read-only and write-only descriptors.
    report("write to read-only", write(fd, b"x").err().unwrap_or(0));
    let st = fdstat(fd).unwrap();
    println!("read-only rights: read {} write {}", st.rights_base & RIGHTS_FD_READ != 0, st.rights_base & RIGHTS_FD_WRITE != 0);
    unsafe { fd_close(fd) };
    let fd = open(SANDBOX, 0, "log.txt", 0, RIGHTS_FD_WRITE, 0).unwrap();
    report("read from write-only", read(fd, 1).err().unwrap_or(0));
    unsafe { fd_close(fd) };

    // Existing fixture content.
    let fd = open(SANDBOX, 0, "sub/nested.txt", 0, RIGHTS_FD_READ, 0).unwrap();
    println!("nested: {:?}", String::from_utf8(read(fd, 100).unwrap()).unwrap());
    unsafe { fd_close(fd) };
    report("open missing", open(SANDBOX, 0, "missing.txt", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("open file as dir", open(SANDBOX, 0, "hello.txt", OFLAGS_DIRECTORY, 0, 0).err().unwrap_or(0));
    report("open file with slash", open(SANDBOX, 0, "hello.txt/", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("open dir for write", open(SANDBOX, 0, "sub", 0, RIGHTS_FD_WRITE, 0).err().unwrap_or(0));
    report("open through file", open(SANDBOX, 0, "hello.txt/x", 0, 0, 0).err().unwrap_or(0));
    report("create dir+creat", open(SANDBOX, 0, "newdir", OFLAGS_CREAT | OFLAGS_DIRECTORY, 0, 0).err().unwrap_or(0));
    report("unlink new.txt", unlink(SANDBOX, "new.txt"));
}

unsafe fn pread_all(fd: Fd) {
    let mut b = [0u8; 32];
    let iov = Iovec { buf: b.as_mut_ptr(), len: 32 };
    let mut n = 0;
    unsafe { fd_pread(fd, &iov, 1, 0, &mut n) };
    println!("content: {:?}", &b[..n]);
}
