//! Clocks, random, sched_yield and poll_oneoff with clock and fd
//! subscriptions. Prints only what every correct host must agree on.

use wasi_conformance::*;

fn clock_sub(userdata: u64, id: u32, timeout: u64, abstime: bool) -> Subscription {
    Subscription { userdata, tag: 0, _pad: [0; 7], u: [id as u64, timeout, 0, abstime as u64] }
}

fn fd_sub(userdata: u64, read: bool, fd: Fd) -> Subscription {
    Subscription { userdata, tag: if read { 1 } else { 2 }, _pad: [0; 7], u: [fd as u64, 0, 0, 0] }
}

fn poll(subs: &[Subscription]) -> Result<Vec<Event>, Errno> {
    let mut events = vec![Event::default(); subs.len()];
    let mut n = 0;
    let e = unsafe { poll_oneoff(subs.as_ptr(), events.as_mut_ptr(), subs.len(), &mut n) };
    if e != 0 {
        return Err(e);
    }
    events.truncate(n);
    Ok(events)
}

fn now(id: u32) -> u64 {
    let mut t = 0;
    ok("clock_time_get", unsafe { clock_time_get(id, 1, &mut t) });
    t
}

fn main() {
    let r0 = now(0);
    println!("realtime after 2020: {}", r0 > 1_577_836_800_000_000_000);
    let m0 = now(1);
    let m1 = now(1);
    println!("monotonic non-decreasing: {}", m1 >= m0);
    // Back-to-back reads must differ, not merely not go back: programs
    // treat an unchanged reading as "no time has passed".
    let mut last = now(1);
    let mut repeats = 0;
    for _ in 0..2000 {
        let t = now(1);
        if t <= last {
            repeats += 1;
        }
        last = t;
    }
    println!("monotonic reads that did not advance: {repeats}");
    let mut res = 0;
    report("clock_res_get realtime", unsafe { clock_res_get(0, &mut res) });
    println!("realtime resolution positive: {}", res > 0);
    report("clock_res_get monotonic", unsafe { clock_res_get(1, &mut res) });

    let mut buf = vec![0u8; 100_000];
    report("random_get", unsafe { random_get(buf.as_mut_ptr(), buf.len()) });
    println!("random not all zero: {}", buf.iter().any(|&b| b != 0));
    report("random_get empty", unsafe { random_get(buf.as_mut_ptr(), 0) });
    report("sched_yield", unsafe { sched_yield() });

    // The earliest of several clocks fires; the late ones do not.
    let start = now(1);
    let events = poll(&[
        clock_sub(10, 1, 2_000_000_000, false),
        clock_sub(11, 1, 20_000_000, false),
        clock_sub(12, 0, 5_000_000_000, false),
    ])
    .unwrap();
    let waited = now(1) - start;
    println!("relative clocks: {} event(s), userdata {}", events.len(), events[0].userdata);
    println!("waited at least 20ms: {}, less than 2s: {}", waited >= 20_000_000, waited < 2_000_000_000);
    println!("event type {} error {}", events[0].kind, name(events[0].error));

    // Absolute monotonic deadline.
    let deadline = now(1) + 15_000_000;
    let events = poll(&[clock_sub(20, 1, deadline, true)]).unwrap();
    println!("absolute clock: {} event(s), userdata {}, reached: {}", events.len(), events[0].userdata, now(1) >= deadline);
    // An absolute deadline in the past fires at once.
    let events = poll(&[clock_sub(21, 0, 1, true)]).unwrap();
    println!("past realtime deadline: {} event(s)", events.len());

    // A ready fd wins over a clock that has not expired.
    let fd = open(SANDBOX, 0, "hello.txt", 0, RIGHTS_FILE_ALL, 0).unwrap();
    let events = poll(&[clock_sub(30, 1, 10_000_000_000, false), fd_sub(31, true, fd), fd_sub(32, false, 1)]).unwrap();
    // Regular files are always readable (POSIX), but a host may report
    // them a moment later; stdout must be writable at once.
    println!("stdout writable: {}", events.iter().any(|e| e.userdata == 32 && e.kind == 2));
    println!("clock not reported: {}", events.iter().all(|e| e.userdata != 30));
    println!("all fd events succeed: {}", events.iter().all(|e| e.error == 0));
    unsafe { fd_close(fd) };

    report("poll_oneoff no subscriptions", poll(&[]).err().unwrap_or(0));
    report("poll_oneoff bad fd", poll(&[fd_sub(40, true, 99)]).err().unwrap_or(0));
}
