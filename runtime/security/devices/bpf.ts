// bpf(2) for a device program: load it, attach it to a cgroup, and the two
// questions the tests ask (which programs a cgroup has, which exist at all).
// Each command takes its own part of union bpf_attr (<linux/bpf.h>), laid
// out here byte by byte.
import fs from 'node:fs';
import * as libc from '../../sys/libc.js';
import { encode, type Insn } from './ebpf.js';

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_GET_NEXT_ID = 11;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6; // the attach type
const BPF_F_ALLOW_MULTI = 1 << 1;

// #region bpf-load
/**
 * BPF_PROG_LOAD: hand the kernel the instructions; its verifier checks
 * them (every path ends in exit with r0 set, every read of the context is
 * in bounds, no instruction is unreachable) and we get a file descriptor
 * for the program. The license string matters only to programs that call
 * GPL-only kernel helpers; a device program calls none, so it is empty.
 * The verifier's log costs more than the load (~2.5 ms against ~0.7), so
 * it is asked for only to explain a refusal.
 */
export function loadDeviceProgram(insns: Insn[]): number {
  const code = encode(insns);
  const license = Buffer.from('\0');
  const load = (log?: Buffer) => {
    const attr = Buffer.alloc(72);
    attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0); //  prog_type
    attr.writeUInt32LE(insns.length, 4); //                 insn_cnt
    attr.writeBigUInt64LE(libc.addressOf(code), 8); //      insns
    attr.writeBigUInt64LE(libc.addressOf(license), 16); //  license
    if (log) {
      attr.writeUInt32LE(1, 24); //                         log_level
      attr.writeUInt32LE(log.length, 28); //                log_size
      attr.writeBigUInt64LE(libc.addressOf(log), 32); //    log_buf
    }
    attr.write('dockling_dev', 48, 'latin1'); //            prog_name (16 bytes): shown by bpftool
    return libc.bpf(BPF_PROG_LOAD, attr, 'BPF_PROG_LOAD');
  };
  try {
    return load();
  } catch (e) {
    const log = Buffer.alloc(64 * 1024);
    try {
      load(log); // again, to hear why
    } catch {
      /* refused again, as expected: the log says why */
    }
    const why = log.toString('latin1', 0, Math.max(0, log.indexOf(0))).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${(e as Error).message}${why ? ` (verifier: ${why})` : ''}`, { cause: e });
  }
}
// #endregion bpf-load

// #region bpf-attach
/**
 * BPF_PROG_ATTACH to the cgroup's directory, opened O_DIRECTORY. With
 * BPF_F_ALLOW_MULTI the programs of the cgroup's ancestors run too, and
 * every one of them must allow: a container can only be given less than
 * its parent. The cgroup holds the program from now on: it goes when the
 * cgroup is removed, so the caller closes its fd.
 */
export function attachDeviceProgram(progFd: number, cgroupDir: string): void {
  const dir = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const attr = Buffer.alloc(20);
    attr.writeUInt32LE(dir, 0); //                target_fd
    attr.writeUInt32LE(progFd, 4); //             attach_bpf_fd
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8); //  attach_type
    attr.writeUInt32LE(BPF_F_ALLOW_MULTI, 12); // attach_flags
    libc.bpf(BPF_PROG_ATTACH, attr, `BPF_PROG_ATTACH ${cgroupDir}`);
  } finally {
    fs.closeSync(dir);
  }
}
// #endregion bpf-attach

/** BPF_PROG_QUERY: the IDs of the device programs attached to one cgroup (not its ancestors). */
export function attachedDevicePrograms(cgroupDir: string): number[] {
  const dir = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const ids = Buffer.alloc(64 * 4);
    const attr = Buffer.alloc(40);
    attr.writeUInt32LE(dir, 0); //                        target_fd
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 4); //          attach_type
    attr.writeBigUInt64LE(libc.addressOf(ids), 16); //    prog_ids
    attr.writeUInt32LE(64, 24); //                        prog_cnt (in: room; out: how many)
    libc.bpf(BPF_PROG_QUERY, attr, `BPF_PROG_QUERY ${cgroupDir}`);
    const n = attr.readUInt32LE(24);
    return Array.from({ length: n }, (_, i) => ids.readUInt32LE(i * 4));
  } finally {
    fs.closeSync(dir);
  }
}

/** BPF_PROG_GET_NEXT_ID, from 0 until ENOENT: the IDs of every BPF program loaded on the host. */
export function loadedPrograms(): number[] {
  const out: number[] = [];
  const attr = Buffer.alloc(12);
  for (let id = 0; ; ) {
    attr.fill(0);
    attr.writeUInt32LE(id, 0); // start_id
    try {
      libc.bpf(BPF_PROG_GET_NEXT_ID, attr, 'BPF_PROG_GET_NEXT_ID');
    } catch (e) {
      if ((e as libc.SyscallError).code === 'ENOENT') return out;
      throw e;
    }
    id = attr.readUInt32LE(4); // next_id
    out.push(id);
  }
}
