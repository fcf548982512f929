// The sketch the language-server tests edit and query: constants, operators with parameters and
// built-in calls, and a model block with two scopes.

/** Line 4 is `  op add(a, b) = a + b;`, line 5 `  op inv(x) = one / x cost 2;` (0-based). */
export const DEMO = `// a demo
sketch demo {
  inputs 2;
  const one = 1;
  op add(a, b) = a + b;
  op inv(x) = one / x cost 2;
  op soft(a) = log(one + exp(a));
  straight lines 4 {
    args: inputs, consts, earlier;
    arg 2: inputs;
  }
  output last;
}
`;
