/**
 * What Linux's /proc says about a process and a port: its start time (with the pid, an identity a
 * reused pid cannot fake), its command line, its process group, and which processes listen on a
 * TCP port. `up` and `down` use it to act only on the processes they started.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after the command name (which may itself contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Clock ticks after boot at which the process started (field 22 of /proc/<pid>/stat); undefined when there is no such process. */
export function startTimeOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The process group (field 5). */
function processGroupOf(pid: number): number | undefined {
  const group = statFields(pid)?.[2];
  return group === undefined ? undefined : Number(group);
}

export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

const allPids = () => readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);

/** Socket inodes listening on the TCP port, on any local address (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is the 10th column.
      if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1]!.split(':')[1]!, 16) === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** Whether one of the process's open file descriptors is one of these sockets. */
function holdsSocket(pid: number, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return target.startsWith('socket:[') && inodes.has(target.slice(8, -1));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * The pids holding a listening socket on the port. Empty when nothing listens, or when the
 * listener's file descriptors cannot be read (another user's process, without root).
 */
export function listenersOf(port: number): number[] {
  const inodes = listeningInodes(port);
  return inodes.size === 0 ? [] : allPids().filter((pid) => holdsSocket(pid, inodes));
}

/** Whether a process of this group listens on the port (only the group's file descriptors are read). */
export function groupListensOn(groupId: number, port: number): boolean {
  const inodes = listeningInodes(port);
  return inodes.size > 0 && allPids().some((pid) => processGroupOf(pid) === groupId && holdsSocket(pid, inodes));
}
