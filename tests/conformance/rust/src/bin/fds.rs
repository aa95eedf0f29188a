//! Descriptor management and streams: stdin, stdio fdstat, prestat,
//! renumber, close, dangling fds, operations on the wrong kind of fd,
//! sockets, proc_raise and exit codes.

use wasi_conformance::*;

fn main() {
    // stdin, read in small pieces
    let mut input = Vec::new();
    loop {
        let chunk = read(0, 7).unwrap();
        if chunk.is_empty() {
            break;
        }
        input.extend(chunk);
    }
    println!("stdin: {:?}", String::from_utf8(input).unwrap());
    println!("stdin again: {:?}", read(0, 7).map(|b| b.len()));
    report("seek stdin", seek(0, 0, 0).err().unwrap_or(0));
    report("seek stdout", seek(1, 0, 1).err().unwrap_or(0));
    let mut pos = 0;
    report("tell stderr", unsafe { fd_tell(2, &mut pos) });
    report("write stdin", write(0, b"x").err().unwrap_or(0));
    report("read stdout", read(1, 1).err().unwrap_or(0));
    for fd in 0..3 {
        let st = fdstat(fd).unwrap();
        println!("fd {fd}: read {} write {}", st.rights_base & RIGHTS_FD_READ != 0, st.rights_base & RIGHTS_FD_WRITE != 0);
        println!("fd {fd} filestat: {:?}", fstat(fd).map(|s| (s.size, s.nlink)));
    }

    // preopens
    let mut pre = [0u32; 2];
    report("prestat 3", unsafe { fd_prestat_get(3, &mut pre) });
    println!("prestat tag {} len {}", pre[0], pre[1]);
    let mut name_buf = [0u8; 32];
    report("prestat_dir_name", unsafe { fd_prestat_dir_name(3, name_buf.as_mut_ptr(), pre[1] as usize) });
    println!("preopen name: {:?}", String::from_utf8_lossy(&name_buf[..pre[1] as usize]));
    report("prestat_dir_name short", unsafe { fd_prestat_dir_name(3, name_buf.as_mut_ptr(), 2) });
    report("prestat 4", unsafe { fd_prestat_get(4, &mut pre) });
    report("prestat stdout", unsafe { fd_prestat_get(1, &mut pre) });
    let st = fdstat(SANDBOX).unwrap();
    println!("preopen: {} flags {} readdir {} write {}", filetype(st.filetype), st.flags, st.rights_base & RIGHTS_FD_READDIR != 0, st.rights_inheriting & RIGHTS_FD_WRITE != 0);

    // operations on a directory fd that only files support
    report("read dir", read(SANDBOX, 4).err().unwrap_or(0));
    report("write dir", write(SANDBOX, b"x").err().unwrap_or(0));
    report("seek dir", seek(SANDBOX, 0, 0).err().unwrap_or(0));
    report("tell dir", unsafe { fd_tell(SANDBOX, &mut pos) });
    report("set_size dir", unsafe { fd_filestat_set_size(SANDBOX, 0) });
    report("path_open on file fd", {
        let f = open(SANDBOX, 0, "hello.txt", 0, RIGHTS_FD_READ, 0).unwrap();
        let e = open(f, 0, "x", 0, 0, 0).err().unwrap_or(0);
        report("mkdir on file fd", mkdir(f, "x"));
        unsafe { fd_close(f) };
        e
    });
    report("path op on stdout", mkdir(1, "x"));

    // renumber and close
    let a = open(SANDBOX, 0, "hello.txt", 0, RIGHTS_FD_READ, 0).unwrap();
    let b = open(SANDBOX, 0, "data.bin", 0, RIGHTS_FD_READ, 0).unwrap();
    report("renumber a->b", unsafe { fd_renumber(a, b) });
    println!("b now reads: {:?}", String::from_utf8(read(b, 5).unwrap()).unwrap());
    report("read old a", read(a, 1).err().unwrap_or(0));
    report("renumber to closed", unsafe { fd_renumber(b, 77) });
    report("renumber from closed", unsafe { fd_renumber(77, b) });
    report("renumber same", unsafe { fd_renumber(b, b) });
    report("close b", unsafe { fd_close(b) });
    report("close b again", unsafe { fd_close(b) });
    let c = open(SANDBOX, 0, "hello.txt", 0, RIGHTS_FD_READ, 0).unwrap();
    println!("lowest free fd reused: {}", c == a);
    unsafe { fd_close(c) };
    report("fdstat closed", fdstat(99).err().unwrap_or(0));
    report("filestat closed", fstat(99).err().unwrap_or(0));
    report("sync closed", unsafe { fd_sync(99) });

    // sockets: EBADF for bad fds, ENOTSOCK for others
    let mut fd_out = 0;
    let mut n = 0;
    let mut fl = 0;
    report("sock_accept bad", unsafe { sock_accept(99, 0, &mut fd_out) });
    report("sock_accept file", unsafe { sock_accept(SANDBOX, 0, &mut fd_out) });
    report("sock_recv bad", unsafe { sock_recv(99, std::ptr::null(), 0, 0, &mut n, &mut fl) });
    report("sock_recv stdin", unsafe { sock_recv(0, std::ptr::null(), 0, 0, &mut n, &mut fl) });
    report("sock_send bad", unsafe { sock_send(99, std::ptr::null(), 0, 0, &mut n) });
    report("sock_send stdout", unsafe { sock_send(1, std::ptr::null(), 0, 0, &mut n) });
    report("sock_shutdown bad", unsafe { sock_shutdown(99, 1) });
    report("sock_shutdown dir", unsafe { sock_shutdown(SANDBOX, 1) });
    report("proc_raise", unsafe { proc_raise(2) });

    eprintln!("exiting with 42");
    unsafe { proc_exit(42) }
}
