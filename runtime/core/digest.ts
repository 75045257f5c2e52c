// Content addresses: a blob, a layer or an image is named by the sha256 of
// its bytes. Every layer from storage (chapter 3) up names things this way.
import crypto from 'node:crypto';

export const sha256 = (data: string | Buffer) => 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');

// #region chain-id
/**
 * A layer's chainID names the whole stack up to it, not just its own
 * changes: the same diff on top of different parents is a different
 * filesystem. OCI image spec: ChainID(L0) = DiffID(L0), and
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainID(parent: string | null, diffID: string): string {
  return parent === null ? diffID : sha256(`${parent} ${diffID}`);
}

export function chainIDs(diffIDs: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIDs) out.push(chainID(out.length ? out[out.length - 1] : null, d));
  return out;
}
// #endregion chain-id
