//! A process's own descriptors and resident memory, from /proc.

/// Open descriptors of this process (the directory handle used to count
/// them included, the same every time).
pub fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Resident memory of this process, in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A stop flag raised when standard input closes: the supervisor's way of
/// asking a child to finish cleanly.
pub fn stop_on_stdin_eof() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock().by_ref(), &mut std::io::sink());
        flag.store(true, Ordering::Release);
    });
    stop
}
