// Preloaded (node --import) into the gateway and kernel node processes that `patchwork up`
// starts. They run in their own process group, so nothing kills them when `up` itself is killed
// outright (SIGKILL, a crash): this guard notices the parent is gone (the child is re-parented)
// and stops its own process gracefully with SIGTERM, which drains it as usual.
const parent = Number(process.env.PATCHWORK_UP_PID);
if (Number.isInteger(parent) && parent > 1) {
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
    }
  }, 1_000);
  // The guard must never keep a process alive by itself.
  timer.unref();
}
