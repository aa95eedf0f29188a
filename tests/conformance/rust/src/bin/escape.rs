//! No path may leave its directory: `..` past the root, absolute paths and
//! symlinks pointing outside all fail, from the preopen and from a subdir fd.

use wasi_conformance::*;

fn main() {
    report("open ..", open(SANDBOX, 0, "..", OFLAGS_DIRECTORY, 0, 0).err().unwrap_or(0));
    report("open ../sandbox/hello.txt", open(SANDBOX, 0, "../sandbox/hello.txt", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("open sub/../../x", open(SANDBOX, 0, "sub/../../x", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("open /etc/passwd", open(SANDBOX, 0, "/etc/passwd", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("open /", open(SANDBOX, 0, "/", OFLAGS_DIRECTORY, 0, 0).err().unwrap_or(0));
    report("stat /sandbox/hello.txt", stat(SANDBOX, 0, "/sandbox/hello.txt").err().unwrap_or(0));
    report("mkdir ../x", mkdir(SANDBOX, "../x"));
    report("create ../x", open(SANDBOX, 0, "../x", OFLAGS_CREAT, RIGHTS_FILE_ALL, 0).err().unwrap_or(0));
    report("unlink ../x", unlink(SANDBOX, "../x"));
    report("rename to ../x", rename(SANDBOX, "hello.txt", SANDBOX, "../x"));
    report("link to ../x", link(SANDBOX, 0, "hello.txt", SANDBOX, "../x"));
    report("symlink absolute target", symlink("/etc/passwd", SANDBOX, "abs"));
    report("symlink to /", symlink("/", SANDBOX, "root"));

    // Symlinks whose targets lead outside can be created but not followed.
    report("symlink ../outside", symlink("../outside", SANDBOX, "out"));
    report("symlink ../../etc", symlink("sub/../../etc", SANDBOX, "out2"));
    report("follow ../outside", stat(SANDBOX, FOLLOW, "out").err().unwrap_or(0));
    report("follow as component", stat(SANDBOX, 0, "out2/passwd").err().unwrap_or(0));
    report("open through out", open(SANDBOX, FOLLOW, "out", OFLAGS_CREAT, RIGHTS_FILE_ALL, 0).err().unwrap_or(0));
    println!("lstat out: {:?}", stat(SANDBOX, 0, "out").map(|s| filetype(s.filetype)));
    println!("readlink out: {:?}", readlink(SANDBOX, "out", 64).map(|b| String::from_utf8(b).unwrap()));

    // A subdirectory fd is a sandbox of its own.
    let sub = open(SANDBOX, 0, "sub", OFLAGS_DIRECTORY, RIGHTS_DIR_ALL, 0).unwrap();
    report("sub: open ../hello.txt", open(sub, 0, "../hello.txt", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("sub: stat ..", stat(sub, 0, "..").err().unwrap_or(0));
    report("sub: symlink to parent file", symlink("../hello.txt", sub, "up"));
    report("sub: follow it from sub", stat(sub, FOLLOW, "up").err().unwrap_or(0));
    println!("sandbox: follow it from sandbox: {:?}", stat(SANDBOX, FOLLOW, "sub/up").map(|s| s.size));
    println!("sub: . then .. within: {:?}", stat(sub, 0, "./x/..").err().map(name));
    println!("sub: nested.txt via ./: {:?}", stat(sub, 0, "./nested.txt").map(|s| s.size));
    unsafe { fd_close(sub) };
    println!("inside paths with ..: {:?}", stat(SANDBOX, 0, "sub/../hello.txt").map(|s| s.size));
    report("unlink out", unlink(SANDBOX, "out"));
    report("unlink out2", unlink(SANDBOX, "out2"));
}
