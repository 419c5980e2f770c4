// CPU time a process used (user + system), read from /proc: the propagation bench says where a
// round's CPU went (seed, MariaDB, receivers). On a system without /proc it reports nothing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The kernel's clock ticks per second (USER_HZ); 100 on Linux unless `getconf` says otherwise. */
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds `pid` has used so far, or undefined when it cannot be read. */
export function cpuMs(pid: number): number | undefined {
  try {
    // fields after the command name (which may hold spaces) in /proc/PID/stat: utime is the 12th, stime the 13th
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU milliseconds `pid` and its live descendants have used so far (socat forks one per connection). */
export function treeCpuMs(pid: number): number | undefined {
  const own = cpuMs(pid);
  if (own === undefined) return undefined;
  let sum = own;
  for (const child of childPids(pid)) sum += treeCpuMs(child) ?? 0;
  return sum;
}

/** CPU milliseconds of `pid`'s live children whose command line holds `part` (the node's read-relay processes). */
export function childrenCpuMs(pid: number, part: string): number {
  let sum = 0;
  for (const child of childPids(pid)) {
    try {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(part)) sum += cpuMs(child) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU milliseconds `pid` uses from now until the returned function is called (undefined: unreadable). */
export function cpuMeter(pid: number | undefined): () => number | undefined {
  const start = pid === undefined ? undefined : cpuMs(pid);
  return () => {
    const end = pid === undefined ? undefined : cpuMs(pid);
    return start === undefined || end === undefined ? undefined : end - start;
  };
}

/** The MariaDB (or MySQL) server's pid on this machine, when it runs here. */
export function mysqlServerPid(): number | undefined {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pid = Number(execFileSync('pidof', ['-s', name]).toString().trim());
      if (pid > 0) return pid;
    } catch {
      // not running under this name
    }
  }
  return undefined;
}
