import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTemplate, objectLookup, references, render, renderAll, TemplateError } from '../../src/core/template.js';

const ctx = {
  extensions: { 'mlflow-store': { url: 'http://minio:9000', cfg: { AWS_ACCESS_KEY_ID: 'AK', PORT: 9000 } } },
  outputs: { x: 'X' },
  params: { y: 'Y' },
};
const lookup = objectLookup(ctx);

function problemsOf(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TemplateError) return err;
    throw err;
  }
  throw new Error('expected a TemplateError');
}

describe('render', () => {
  it('substitutes dotted paths, with or without spaces, keeping the text around them', () => {
    expect(render('url={{ extensions.mlflow-store.url }}/x', lookup)).toBe('url=http://minio:9000/x');
    expect(render('{{outputs.x}}-{{ params.y }}', lookup)).toBe('X-Y');
    expect(render('{{ extensions.mlflow-store.cfg.PORT }}', lookup)).toBe('9000');
  });

  it('leaves text without references untouched', () => {
    expect(render('plain } { text', lookup)).toBe('plain } { text');
    expect(render('', lookup)).toBe('');
  });

  it('renders quoted literals, so "{{" can be written', () => {
    expect(render(`{{ "{{" }} x {{ '}' }}`, lookup)).toBe('{{ x }');
  });

  it('reports every unknown reference in one error, never an empty string', () => {
    const err = problemsOf(() => render('{{ outputs.nope }} {{ params.y }} {{ extensions.s3.url }}', lookup));
    expect(err.problems.map((p) => p.ref)).toEqual(['outputs.nope', 'extensions.s3.url']);
    expect(err.message).toContain('outputs.nope');
    expect(err.message).toContain('extensions.s3.url');
    expect(err.code).toBe('VALIDATION');
  });

  it('reports malformed references: empty, expressions, unclosed', () => {
    const err = problemsOf(() => render('{{ }} {{ a | upper }} {{ a..b }} {{ outputs.x', lookup));
    expect(err.problems.map((p) => p.message)).toEqual([
      'empty reference',
      expect.stringContaining('not a reference'),
      expect.stringContaining('not a reference'),
      'unclosed "{{"',
    ]);
  });

  it('rejects references to groups of values and names the known keys (not values)', () => {
    const err = problemsOf(() => render('{{ extensions.mlflow-store.cfg }} {{ extensions.mlflow-store.cfg.SECRET }}', lookup));
    expect(err.problems[0]?.message).toContain('group of values');
    expect(err.problems[1]?.message).toContain('known: AWS_ACCESS_KEY_ID, PORT');
    expect(err.message).not.toContain('AK');
  });

  it('does not walk inherited properties', () => {
    expect(() => render('{{ outputs.toString }}', lookup)).toThrow(TemplateError);
    expect(() => render('{{ constructor }}', lookup)).toThrow(TemplateError);
  });

  it('leaves pass-through references verbatim', () => {
    const out = render('{{ inputs.codeset }}/{{ outputs.x }}', lookup, { passThrough: (p) => p.startsWith('inputs.') });
    expect(out).toBe('{{ inputs.codeset }}/X');
  });

  it('turns a non-string lookup result into a problem', () => {
    const bad = (() => undefined) as unknown as (p: string) => string;
    expect(problemsOf(() => render('{{ a }}', bad)).problems[0]?.message).toContain('not a string');
  });
});

describe('renderAll', () => {
  it('renders a set and labels the problems of all of them at once', () => {
    expect(renderAll({ A: '{{ outputs.x }}', B: 'b' }, lookup)).toEqual({ A: 'X', B: 'b' });
    const err = problemsOf(() => renderAll({ A: '{{ outputs.q }}', B: '{{ params.z }}' }, lookup));
    expect(err.problems.map((p) => [p.label, p.ref])).toEqual([
      ['A', 'outputs.q'],
      ['B', 'params.z'],
    ]);
  });
});

describe('references / isTemplate', () => {
  it('lists the references in order', () => {
    expect(references('{{ a.b }} and {{ c }} {{ "lit" }} {{ bad ref }}')).toEqual(['a.b', 'c']);
    expect(isTemplate('x {{ y }}')).toBe(true);
    expect(isTemplate('x { y }')).toBe(false);
  });

  it('property: text without "{{" renders to itself', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('{{')),
        (s) => render(s, () => {
          throw new Error('no lookups expected');
        }) === s,
      ),
    );
  });

  it('property: a rendered reference is replaced by exactly the looked-up value', () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,8}$/);
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 4 }), fc.string(), fc.string().filter((s) => !s.includes('{{') && !s.endsWith('{')), (path, value, before) => {
        const p = path.join('.');
        return render(`${before}{{ ${p} }}`, (q) => (q === p ? value : '?')) === before + value;
      }),
    );
  });
});
