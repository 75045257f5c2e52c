// A Go value with methods, the kind docker/cli hands its list templates
// (formatter.ContainerContext for `ps`, formatter.imageContext for
// `images`): {{.ID}} calls the method ID, {{.Label "com.x"}} calls Label
// with an argument, and a name that is no method is Go's error on a
// struct, "can't evaluate field Bogus in type *formatter.ContainerContext"
// (not the map's "map has no entry for key"). {{json .}} prints what
// docker/cli's MarshalJSON does: every method that takes no argument, by
// name, in Go's sorted key order.

/** A method: its arguments are strings (the only kind docker's contexts take). */
export type GoMethod = (...args: string[]) => unknown;

export class GoStruct {
  constructor(
    /** the Go type as its errors name it, e.g. "*formatter.ContainerContext" */
    readonly type: string,
    readonly methods: Record<string, GoMethod>,
  ) {}

  toJSON(): Record<string, unknown> {
    const names = Object.keys(this.methods).filter((n) => this.methods[n].length === 0);
    names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return Object.fromEntries(names.map((n) => [n, this.methods[n]()]));
  }
}
