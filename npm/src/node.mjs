// `import "edgesuggest"` in Node: the CommonJS entry, so that `import` and `require` in one
// process share one engine instance.
import node from "./node.cjs";

export const { Suggester, initWasm } = node;
