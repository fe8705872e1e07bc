/**
 * Compares a TypeScript interface (read with the TypeScript compiler API) with a
 * JSON Schema, recursively: the same property names, the same required ones,
 * compatible primitive types, arrays, string-keyed maps and discriminated
 * unions. Returns the differences as readable lines (empty when in step).
 */
import ts from 'typescript';

type Schema = Record<string, unknown>;

// Building a program costs seconds on a busy machine: one per file, reused.
const programs = new Map<string, ts.Program>();

export function driftBetween(tsFile: string, typeName: string, rootSchema: Schema, schemaPointer = '#'): string[] {
  let program = programs.get(tsFile);
  if (!program) {
    program = ts.createProgram([tsFile], { strict: true, noResolve: false, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
    programs.set(tsFile, program);
  }
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(tsFile);
  if (!source) throw new Error(`cannot read ${tsFile}`);
  let decl: ts.Node | undefined;
  ts.forEachChild(source, (n) => {
    if ((ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) && n.name.text === typeName) decl = n;
  });
  if (!decl) throw new Error(`no type ${typeName} in ${tsFile}`);
  const problems: string[] = [];

  const deref = (s: Schema): Schema => {
    let cur = s;
    for (let i = 0; i < 20 && typeof cur.$ref === 'string'; i++) {
      const target = (cur.$ref as string).replace(/^#\//, '').split('/').reduce<unknown>((o, k) => (o as Schema)[k], rootSchema) as Schema;
      const rest = { ...cur };
      delete rest.$ref;
      cur = { ...target, ...rest, properties: { ...(target.properties as Schema), ...(rest.properties as Schema) } };
      if (!target.properties && !rest.properties) delete cur.properties;
    }
    return cur;
  };

  const primitiveOf = (s: Schema): Set<string> => {
    const out = new Set<string>();
    const add = (t: unknown): void => {
      if (t === 'integer') out.add('number');
      else if (typeof t === 'string') out.add(t);
    };
    if (Array.isArray(s.type)) s.type.forEach(add);
    else add(s.type);
    for (const v of (s.enum as unknown[] | undefined) ?? []) out.add(typeof v);
    if (s.const !== undefined) out.add(typeof s.const);
    for (const alt of [...((s.anyOf as Schema[]) ?? []), ...((s.oneOf as Schema[]) ?? [])]) primitiveOf(deref(alt)).forEach((t) => out.add(t));
    return out;
  };

  const tsPrimitives = (t: ts.Type): Set<string> => {
    const out = new Set<string>();
    for (const part of t.isUnion() ? t.types : [t]) {
      if (part.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) out.add('string');
      else if (part.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) out.add('number');
      else if (part.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) out.add('boolean');
      else if (part.flags & ts.TypeFlags.Undefined) continue;
      else if (checker.isArrayType(part)) out.add('array');
      else if (part.flags & ts.TypeFlags.Object) out.add('object');
    }
    return out;
  };

  const compare = (t: ts.Type, s0: Schema, path: string): void => {
    const s = deref(s0);
    const nonUndefined = t.isUnion() ? t.types.filter((x) => !(x.flags & ts.TypeFlags.Undefined)) : [t];
    // Discriminated union of objects (e.g. steps): match members by their literal `type`.
    if (nonUndefined.length > 1 && nonUndefined.every((x) => x.flags & ts.TypeFlags.Object && !checker.isArrayType(x))) {
      const branches = ((s.allOf as Schema[]) ?? []).filter((b) => b.if && b.then);
      for (const member of nonUndefined) {
        const disc = member.getProperty('type');
        const lit = disc ? checker.getTypeOfSymbol(disc) : undefined;
        const value = lit?.isStringLiteral() ? lit.value : undefined;
        const branch = branches.find((b) => ((b.if as Schema).properties as Record<string, Schema>)?.type?.const === value);
        if (!branch) problems.push(`${path}: no schema branch for type "${String(value)}"`);
        else compare(member, branch.then as Schema, `${path}<${String(value)}>`);
      }
      return;
    }
    const member = nonUndefined[0] as ts.Type;
    if (checker.isArrayType(member)) {
      if (!primitiveOf(s).has('array')) problems.push(`${path}: TS has an array, schema has ${[...primitiveOf(s)].join('|') || 'no type'}`);
      const item = checker.getTypeArguments(member as ts.TypeReference)[0];
      if (item && s.items) compare(item, s.items as Schema, `${path}[]`);
      return;
    }
    const props = s.properties as Record<string, Schema> | undefined;
    if (member.flags & ts.TypeFlags.Object && !props && s.additionalProperties && typeof s.additionalProperties === 'object') {
      const index = checker.getIndexTypeOfType(member, ts.IndexKind.String);
      if (!index) problems.push(`${path}: schema is a map, TS type has no string index`);
      else compare(index, s.additionalProperties as Schema, `${path}{}`);
      return;
    }
    if (member.flags & ts.TypeFlags.Object && props) {
      const tsProps = new Map(checker.getPropertiesOfType(member).map((p) => [p.name, p]));
      const required = new Set((s.required as string[]) ?? []);
      for (const name of Object.keys(props)) if (!tsProps.has(name)) problems.push(`${path}.${name}: in the schema, not in the TS type`);
      for (const [name, sym] of tsProps) {
        const sub = props[name];
        if (!sub) {
          problems.push(`${path}.${name}: in the TS type, not in the schema`);
          continue;
        }
        const optional = (sym.flags & ts.SymbolFlags.Optional) !== 0;
        if (optional === required.has(name)) problems.push(`${path}.${name}: ${optional ? 'optional in TS, required in the schema' : 'required in TS, optional in the schema'}`);
        compare(checker.getTypeOfSymbol(sym), sub, `${path}.${name}`);
      }
      return;
    }
    const want = primitiveOf(s);
    const have = tsPrimitives(t);
    if (want.size > 0) for (const h of have) if (!want.has(h)) problems.push(`${path}: TS allows ${h}, schema allows ${[...want].join('|')}`);
    for (const w of want) if (w !== 'null' && !have.has(w)) problems.push(`${path}: schema allows ${w}, TS allows ${[...have].join('|')}`);
  };

  const type = checker.getTypeAtLocation(decl);
  const start = schemaPointer === '#' ? rootSchema : deref({ $ref: schemaPointer });
  compare(type, start, typeName);
  return problems;
}
