//! Symlinks: create, readlink (with truncation), follow and no-follow
//! lookups, dangling links, loops (ELOOP) and filestat of links.

use wasi_conformance::*;

fn main() {
    report("symlink to file", symlink("hello.txt", SANDBOX, "l-file"));
    report("symlink to dir", symlink("sub", SANDBOX, "l-dir"));
    report("symlink dangling", symlink("missing", SANDBOX, "l-dangling"));
    report("symlink existing", symlink("x", SANDBOX, "hello.txt"));
    report("symlink existing dir/", symlink("x", SANDBOX, "sub/"));
    report("symlink new/", symlink("x", SANDBOX, "fresh/"));
    report("symlink loop a", symlink("loop-b", SANDBOX, "loop-a"));
    report("symlink loop b", symlink("loop-a", SANDBOX, "loop-b"));
    report("symlink self", symlink("self", SANDBOX, "self"));
    report("symlink in subdir up", symlink("../hello.txt", SANDBOX, "sub/up"));
    report("symlink chain", symlink("l-file", SANDBOX, "l-chain"));

    println!("readlink: {:?}", readlink(SANDBOX, "l-file", 64).map(|b| String::from_utf8(b).unwrap()));
    println!("readlink short: {:?}", readlink(SANDBOX, "l-file", 4).map(|b| String::from_utf8(b).unwrap()));
    println!("readlink zero: {:?}", readlink(SANDBOX, "l-file", 0).map(|b| b.len()));
    report("readlink of file", readlink(SANDBOX, "hello.txt", 64).err().unwrap_or(0));
    report("readlink missing", readlink(SANDBOX, "nope", 64).err().unwrap_or(0));

    let st = stat(SANDBOX, 0, "l-file").unwrap();
    println!("lstat l-file: {} size {}", filetype(st.filetype), st.size);
    let st = stat(SANDBOX, FOLLOW, "l-file").unwrap();
    println!("stat l-file: {} size {}", filetype(st.filetype), st.size);
    println!("stat chain: {:?}", stat(SANDBOX, FOLLOW, "l-chain").map(|s| s.size));
    println!("stat through subdir link: {:?}", stat(SANDBOX, FOLLOW, "sub/up").map(|s| s.size));
    println!("stat via dir link: {:?}", stat(SANDBOX, 0, "l-dir/nested.txt").map(|s| s.size));
    println!("lstat dir link/: {:?}", stat(SANDBOX, 0, "l-dir/").map(|s| filetype(s.filetype)));
    println!("lstat file link/: {:?}", stat(SANDBOX, 0, "l-file/").map(|s| filetype(s.filetype)).map_err(name));
    println!("stat file link/: {:?}", stat(SANDBOX, FOLLOW, "l-file/").map(|s| filetype(s.filetype)).map_err(name));
    println!("stat dir link/: {:?}", stat(SANDBOX, FOLLOW, "l-dir/").map(|s| filetype(s.filetype)).map_err(name));
    println!("open dir link/ nofollow: {:?}", open(SANDBOX, 0, "l-dir/", OFLAGS_DIRECTORY, 0, 0).map(|fd| unsafe { fd_close(fd) }).map_err(name));
    println!("open dir link/ nofollow plain: {:?}", open(SANDBOX, 0, "l-dir/", 0, 0, 0).map(|fd| unsafe { fd_close(fd) }).map_err(name));
    println!("open file link/ follow: {:?}", open(SANDBOX, FOLLOW, "l-file/", 0, 0, 0).map(|fd| unsafe { fd_close(fd) }).map_err(name));
    println!("readlink dir link/: {:?}", readlink(SANDBOX, "l-dir/", 64).map_err(name));
    println!("unlink dir link/: {:?}", name(unlink(SANDBOX, "l-dir/")));
    println!("rename dir link/: {:?}", name(rename(SANDBOX, "l-dir/", SANDBOX, "l-dir-2")));
    report("stat dangling follow", stat(SANDBOX, FOLLOW, "l-dangling").err().unwrap_or(0));
    println!("lstat dangling: {:?}", stat(SANDBOX, 0, "l-dangling").map(|s| filetype(s.filetype)));
    report("stat loop", stat(SANDBOX, FOLLOW, "loop-a").err().unwrap_or(0));
    report("stat self", stat(SANDBOX, FOLLOW, "self").err().unwrap_or(0));
    report("stat loop as dir component", stat(SANDBOX, 0, "loop-a/x").err().unwrap_or(0));

    report("open link nofollow", open(SANDBOX, 0, "l-file", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    report("open dir link nofollow O_DIRECTORY", open(SANDBOX, 0, "l-dir", OFLAGS_DIRECTORY, 0, 0).err().unwrap_or(0));
    let fd = open(SANDBOX, FOLLOW, "l-file", 0, RIGHTS_FD_READ, 0).unwrap();
    println!("read through link: {:?}", String::from_utf8(read(fd, 100).unwrap()).unwrap());
    unsafe { fd_close(fd) };
    let fd = open(SANDBOX, FOLLOW, "l-dir", OFLAGS_DIRECTORY, RIGHTS_DIR_ALL, 0).unwrap();
    println!("dir through link: {:?}", list(fd).unwrap());
    unsafe { fd_close(fd) };
    report("open file link as dir", open(SANDBOX, FOLLOW, "l-file", OFLAGS_DIRECTORY, 0, 0).err().unwrap_or(0));
    report("open loop", open(SANDBOX, FOLLOW, "loop-a", 0, RIGHTS_FD_READ, 0).err().unwrap_or(0));
    // Creating through a dangling link creates its target.
    let fd = open(SANDBOX, FOLLOW, "l-dangling", OFLAGS_CREAT, RIGHTS_FILE_ALL, 0).unwrap();
    write(fd, b"made via link").unwrap();
    unsafe { fd_close(fd) };
    println!("target now exists: {:?}", stat(SANDBOX, 0, "missing").map(|s| s.size));

    report("rmdir dir link", rmdir(SANDBOX, "l-dir"));
    report("unlink dir link", unlink(SANDBOX, "l-dir"));
    report("unlink dangling slash", unlink(SANDBOX, "loop-b/"));
    report("hard link to symlink", link(SANDBOX, 0, "l-file", SANDBOX, "l-hard"));
    println!("hard link is a symlink: {:?}", stat(SANDBOX, 0, "l-hard").map(|s| filetype(s.filetype)));
    report("rename symlink", rename(SANDBOX, "l-chain", SANDBOX, "l-chain2"));
    println!("renamed link still resolves: {:?}", stat(SANDBOX, FOLLOW, "l-chain2").map(|s| s.size));
    report("set times through link", unsafe { path_filestat_set_times(SANDBOX, FOLLOW, "l-file".as_ptr(), 6, 7, 8, 1 | 4) });
    println!("target times: {:?}", stat(SANDBOX, 0, "hello.txt").map(|s| (s.atim, s.mtim)));
    // Without FOLLOW the link itself gets the times and the target keeps its own.
    report("set times on the link itself", unsafe { path_filestat_set_times(SANDBOX, 0, "l-file".as_ptr(), 6, 30, 40, 1 | 4) });
    println!("link times: {:?}", stat(SANDBOX, 0, "l-file").map(|s| (s.atim, s.mtim)));
    println!("target times kept: {:?}", stat(SANDBOX, 0, "hello.txt").map(|s| (s.atim, s.mtim)));
    println!("followed times are the target's: {:?}", stat(SANDBOX, FOLLOW, "l-file").map(|s| (s.atim, s.mtim)));
}
