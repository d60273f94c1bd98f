import neostandard from 'neostandard'

// The standard style the code is written in (no semicolons, a space before
// function parentheses), with its TypeScript rules; dist/ is compiled output.
export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**'] }),
  {
    rules: {
      // `void reply.send(...)` marks a promise fastify handles itself (fastify's own docs write it so).
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
