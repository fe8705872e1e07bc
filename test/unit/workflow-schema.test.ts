/**
 * schemas/workflow.schema.json and src/core/workflow.ts must describe the same
 * shape: same fields, same required/optional split, for every object type.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { Workflow } from '../../src/core/workflow.js';
import { ENV_NAME_PATTERN, REQUIREMENT_NAME_PATTERN, REQUIREMENT_SELECTORS, STEP_NAME_PATTERN } from '../../src/core/workflow.js';
import { loadSchema, validatorFor } from '../../src/descriptor/schema.js';
import { driftBetween } from '../helpers/schema-drift.js';

type Shape = Record<string, 'required' | 'optional'>;

/** Fields of each interface (and inline object type literal properties) in a TS file. */
function interfaceShapes(file: string): Record<string, Shape> {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: Record<string, Shape> = {};
  const shapeOf = (members: ts.NodeArray<ts.TypeElement>): Shape => {
    const shape: Shape = {};
    for (const m of members) {
      if (ts.isPropertySignature(m) && m.name && ts.isIdentifier(m.name)) shape[m.name.text] = m.questionToken ? 'optional' : 'required';
    }
    return shape;
  };
  src.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) {
      out[node.name.text] = shapeOf(node.members);
      for (const m of node.members) {
        if (ts.isPropertySignature(m) && m.type && ts.isTypeLiteralNode(m.type) && ts.isIdentifier(m.name)) {
          out[`${node.name.text}.${m.name.text}`] = shapeOf(m.type.members);
        }
      }
    }
  });
  return out;
}

interface ObjectSchema {
  properties?: Record<string, ObjectSchema & { $ref?: string; pattern?: string; items?: { $ref?: string } }>;
  required?: string[];
}

function schemaShape(s: ObjectSchema): Shape {
  const required = new Set(s.required ?? []);
  return Object.fromEntries(Object.keys(s.properties ?? {}).map((k) => [k, required.has(k) ? 'required' : 'optional']));
}

const schema = loadSchema('workflow') as unknown as ObjectSchema & { $defs: Record<string, ObjectSchema & { pattern?: string }> };
const defs = schema.$defs;
const types = interfaceShapes(fileURLToPath(new URL('../../src/core/workflow.ts', import.meta.url)));

describe('workflow schema and TypeScript types do not drift', () => {
  const pairs: [string, ObjectSchema][] = [
    ['Workflow', schema],
    ['WorkflowInput', defs.input as ObjectSchema],
    ['WorkflowOutput', defs.output as ObjectSchema],
    ['WorkflowStep', defs.step as ObjectSchema],
    ['WorkflowStepInput', defs.stepInput as ObjectSchema],
    ['StepInputCodeset', defs.codeset as ObjectSchema],
    ['WorkflowStepOutput', defs.stepOutput as ObjectSchema],
    ['WorkflowStepOutput.image', defs.stepOutput?.properties?.image as ObjectSchema],
    ['StepEnvVar', defs.envVar as ObjectSchema],
    ['ExtensionRequirement', defs.requirement as ObjectSchema],
    ['RequirementStatus', defs.requirementStatus as ObjectSchema],
    ['StepResources', defs.resources as ObjectSchema],
  ];

  it.each(pairs)('%s has the same fields and required ones', (name, s) => {
    expect(types[name], `interface ${name} not found`).toBeDefined();
    expect(schemaShape(s)).toEqual(types[name]);
  });

  it('field types agree too (recursive comparison through the TypeScript checker)', () => {
    const file = fileURLToPath(new URL('../../src/core/workflow.ts', import.meta.url));
    expect(driftBetween(file, 'Workflow', loadSchema('workflow'))).toEqual([]);
  });

  it('every interface of src/core/workflow.ts is covered', () => {
    expect(Object.keys(types).sort()).toEqual(pairs.map(([n]) => n).sort());
  });

  it('patterns and selector list agree', () => {
    expect(defs.requirement?.properties?.name?.pattern ?? '').toBe(REQUIREMENT_NAME_PATTERN);
    expect((defs.step?.properties?.name as { pattern?: string }).pattern).toBe(STEP_NAME_PATTERN);
    expect((defs.envVar?.properties?.name as { pattern?: string }).pattern).toBe(ENV_NAME_PATTERN);
    const selectors = Object.keys(defs.requirement?.properties ?? {}).filter((k) => k !== 'name' && k !== 'extensionAccess' && k !== 'status');
    expect(selectors).toEqual([...REQUIREMENT_SELECTORS]);
  });

  it('a fully populated typed workflow is valid', () => {
    const wf: Required<Workflow> = {
      name: 'w',
      description: 'd',
      created: '2021-04-09T06:17:25Z',
      inputs: [{ name: 'i', description: 'd', type: 'codeset', default: 'x', labels: ['l'] }],
      outputs: [{ name: 'o', description: 'd', type: 'string' }],
      steps: [
        {
          name: 's',
          image: 'img',
          inputs: [{ name: 'n', value: 'v', codeset: { name: 'c', path: '/p' } }],
          outputs: [{ name: 'o', image: { name: 'n', dockerfile: 'D' } }],
          env: [{ name: 'E', value: '{{ extensions.r.url }}' }],
          extensions: [
            {
              name: 'r',
              extension_id: 'e',
              service_id: 's',
              product: 'p',
              version: '>=1.0,<1.1',
              zone: 'z',
              service_resource: 'res',
              service_category: 'cat',
              extensionAccess: {},
              status: { extension_id: 'e', service_id: 's', url: 'http://e', credentials_id: 'c' },
            },
          ],
          resources: { requests: { cpu: 1, memory: '1Gi' }, limits: { cpu: '2', 'nvidia.com/gpu': 1 } },
        },
      ],
    };
    const validate = validatorFor('workflow');
    expect(validate(wf), JSON.stringify(validate.errors)).toBe(true);
  });

  it('created must be an RFC 3339 time; resources only requests and limits', () => {
    const validate = validatorFor('workflow');
    const step = { name: 's', image: 'i' };
    expect(validate({ name: 'w', created: 'yesterday', steps: [step] })).toBe(false);
    expect(validate({ name: 'w', steps: [{ ...step, resources: { requests: { cpu: 1 }, max: {} } }] })).toBe(false);
    expect(validate({ name: 'w', steps: [{ ...step, resources: { limits: { cpu: true } } }] })).toBe(false);
    expect(validate({ name: 'w', steps: [{ ...step, extensions: [{ name: 'r', status: { url: 'http://x', other: 1 } }] }] })).toBe(false);
  });
});
