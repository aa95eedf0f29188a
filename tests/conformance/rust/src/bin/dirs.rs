//! Directories: mkdir, readdir (with `.`/`..` and cookies), rmdir, unlink,
//! rename in all its cases, hard links and trailing slashes.

use wasi_conformance::*;

fn show(label: &str, dir: Fd) {
    let entries = list(dir).unwrap();
    let names: Vec<String> = entries.iter().map(|(n, t)| format!("{n}:{}", filetype(*t))).collect();
    println!("{label}: {}", names.join(" "));
}

fn main() {
    show("sandbox", SANDBOX);
    report("mkdir d", mkdir(SANDBOX, "d"));
    report("mkdir d again", mkdir(SANDBOX, "d"));
    report("mkdir d/e/", mkdir(SANDBOX, "d/e/"));
    report("mkdir in missing parent", mkdir(SANDBOX, "nope/x"));
    report("mkdir under file", mkdir(SANDBOX, "hello.txt/x"));
    report("mkdir .", mkdir(SANDBOX, "."));
    create(SANDBOX, "d/f1", b"1");
    create(SANDBOX, "d/f2", b"22");
    let d = open(SANDBOX, 0, "d", OFLAGS_DIRECTORY, RIGHTS_DIR_ALL, 0).unwrap();
    show("d", d);
    let st = fdstat(d).unwrap();
    println!("d filetype {} readdir right {}", filetype(st.filetype), st.rights_base & RIGHTS_FD_READDIR != 0);
    let dot = stat(d, 0, ".").unwrap();
    let via_parent = stat(SANDBOX, 0, "d").unwrap();
    println!("d/. is d: {}", dot.ino == via_parent.ino);
    println!("d/.. is sandbox: {}", stat(d, 0, "e/../..").err() == Some(63) || stat(SANDBOX, 0, "d/..").unwrap().ino == fstat(SANDBOX).unwrap().ino);

    // readdir cookies: resume after the second entry.
    let mut buf = vec![0u8; 4096];
    let mut used = 0;
    ok("readdir", unsafe { fd_readdir(d, buf.as_mut_ptr(), buf.len(), 0, &mut used) });
    let mut count = 0;
    let mut at = 0;
    let mut second_next = 0;
    while at + 24 <= used {
        let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
        let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
        count += 1;
        if count == 2 {
            second_next = next;
        }
        at += 24 + namlen;
    }
    ok("readdir from cookie", unsafe { fd_readdir(d, buf.as_mut_ptr(), buf.len(), second_next, &mut used) });
    let mut rest = 0;
    let mut at = 0;
    while at + 24 <= used {
        let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
        rest += 1;
        at += 24 + namlen;
    }
    println!("entries {count}, after second cookie {rest}");
    // A tiny buffer is filled completely (the caller must grow it).
    ok("readdir small", unsafe { fd_readdir(d, buf.as_mut_ptr(), 10, 0, &mut used) });
    println!("small buffer used {used}");
    report("readdir on file fd", {
        let f = open(SANDBOX, 0, "hello.txt", 0, RIGHTS_FD_READ, 0).unwrap();
        let e = unsafe { fd_readdir(f, buf.as_mut_ptr(), buf.len(), 0, &mut used) };
        unsafe { fd_close(f) };
        e
    });

    report("rmdir non-empty", rmdir(SANDBOX, "d"));
    report("rmdir file", rmdir(SANDBOX, "d/f1"));
    report("rmdir missing", rmdir(SANDBOX, "d/zz"));
    report("unlink dir", unlink(SANDBOX, "d/e"));
    report("unlink dir/", unlink(SANDBOX, "d/e/"));
    report("unlink file/", unlink(SANDBOX, "d/f1/"));
    report("unlink missing", unlink(SANDBOX, "d/zz"));

    // rename
    report("rename file", rename(SANDBOX, "d/f1", SANDBOX, "d/g1"));
    report("rename over file", rename(SANDBOX, "d/g1", SANDBOX, "d/f2"));
    report("rename missing", rename(SANDBOX, "d/g1", SANDBOX, "d/h"));
    report("rename file over dir", rename(SANDBOX, "d/f2", SANDBOX, "d/e"));
    report("rename dir over file", rename(SANDBOX, "d/e", SANDBOX, "d/f2"));
    report("mkdir d/x", mkdir(SANDBOX, "d/x"));
    report("rename dir over empty dir", rename(SANDBOX, "d/e", SANDBOX, "d/x"));
    create(SANDBOX, "d/x/inner", b"in");
    report("mkdir d/y", mkdir(SANDBOX, "d/y"));
    report("rename dir over non-empty dir", rename(SANDBOX, "d/y", SANDBOX, "d/x"));
    report("rename dir into itself", rename(SANDBOX, "d/x", SANDBOX, "d/x/sub"));
    report("rename dir/ to new/", rename(SANDBOX, "d/y/", SANDBOX, "d/z/"));
    report("rename file/ ", rename(SANDBOX, "d/f2/", SANDBOX, "d/f3"));
    report("rename across fds", rename(d, "f2", SANDBOX, "moved.txt"));
    report("rename to same name", rename(SANDBOX, "moved.txt", SANDBOX, "moved.txt"));
    show("d after renames", d);

    // hard links
    report("link", link(SANDBOX, 0, "moved.txt", d, "hard"));
    let a = stat(SANDBOX, 0, "moved.txt").unwrap();
    let b = stat(d, 0, "hard").unwrap();
    println!("same inode {} nlink {} {}", a.ino == b.ino, a.nlink, b.nlink);
    let fd = open(d, 0, "hard", 0, RIGHTS_FILE_ALL, 0).unwrap();
    write(fd, b"via link").unwrap();
    unsafe { fd_close(fd) };
    println!("size seen through other name: {}", stat(SANDBOX, 0, "moved.txt").unwrap().size);
    report("link existing", link(SANDBOX, 0, "moved.txt", d, "hard"));
    report("link to itself", link(SANDBOX, 0, "moved.txt", SANDBOX, "moved.txt"));
    report("link dir", link(SANDBOX, 0, "d", SANDBOX, "dlink"));
    report("link target slash", link(SANDBOX, 0, "moved.txt", SANDBOX, "new/"));
    report("link missing", link(SANDBOX, 0, "nope", SANDBOX, "new"));
    report("unlink one name", unlink(SANDBOX, "moved.txt"));
    println!("nlink after unlink: {}", stat(d, 0, "hard").unwrap().nlink);
    unsafe { fd_close(d) };
    report("rmdir d/z", rmdir(SANDBOX, "d/z"));
    // Non-blocking mode means nothing for a directory, but asking is no error.
    let nonblock = open(SANDBOX, 0, ".", 0, 0, 4);
    report("open . non-blocking", nonblock.err().unwrap_or(0));
    if let Ok(fd) = nonblock {
        println!("non-blocking dir is a directory: {:?}", fdstat(fd).map(|s| filetype(s.filetype)));
        unsafe { fd_close(fd) };
    }
    show("sandbox at end", SANDBOX);
}
