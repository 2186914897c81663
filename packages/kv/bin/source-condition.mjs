// Module resolve hook used by flotilla.mjs inside the workspace: resolves workspace packages to
// their TypeScript sources (the `@flotilla/source` export condition) instead of dist/.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('@flotilla/source')
    ? context.conditions
    : [...context.conditions, '@flotilla/source'];
  return nextResolve(specifier, { ...context, conditions });
}
