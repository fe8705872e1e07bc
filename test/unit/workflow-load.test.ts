import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatIssue, ValidationError } from '../../src/core/errors.js';
import { ResolutionError, resolveWorkflow } from '../../src/core/resolve.js';
import { loadWorkflowFile, parseWorkflow, workflowDataIssues } from '../../src/workflow/load.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/workflows/${name}`, import.meta.url));

async function issuesOf(p: Promise<unknown> | (() => unknown)): Promise<string[]> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map(formatIssue);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('loadWorkflowFile', () => {
  it('loads a FuseML workflow with inputs, outputs, codesets and requirements', async () => {
    const { workflow, file } = await loadWorkflowFile(fixture('mlflow-e2e.yaml'));
    expect(file).toContain('mlflow-e2e.yaml');
    expect(workflow.steps.map((s) => s.name)).toEqual(['trainer', 'predictor']);
    expect(workflow.steps[1]?.extensions?.[1]).toEqual({ name: 'serving', service_category: 'prediction-serving' });
  });

  it('reports every schema problem with file:line:col and pointer', async () => {
    const issues = await issuesOf(loadWorkflowFile(fixture('invalid.yaml')));
    const f = fixture('invalid.yaml');
    expect(issues).toEqual(
      expect.arrayContaining([
        `${f}:4:5 /steps/0 unknown field "extension"`,
        `${f}:9:9 /steps/1/extensions/0 unknown field "servce_resource"`,
        `${f}:10:9 /steps/1/extensions/1 missing required field "name"`,
        expect.stringMatching(new RegExp(`^${f}:12:15 /steps/1/env/0/name "1BAD" must`)),
      ]),
    );
    expect(issues).toHaveLength(4);
  });

  it('reports registry-independent problems (names, references) with positions, all at once', async () => {
    const text = [
      'name: w',
      'steps:',
      '  - name: a',
      '    extensions:',
      '      - name: store',
      '        service_resource: s3',
      '      - name: store',
      '    env:',
      '      - name: X',
      "        value: '{{ extensions.nope.url }} {{ extensions.store.cfg }}'",
      '  - name: a',
      '',
    ].join('\n');
    const issues = await issuesOf(() => parseWorkflow(text, 'wf.yaml'));
    expect(issues).toEqual([
      'wf.yaml:7:15 /steps/0/extensions/1/name step a, requirement store: requirement name store is used twice',
      'wf.yaml:10:16 /steps/0/env/0/value step a: env X: {{ extensions.nope.url }}: unknown reference: the step has no requirement named nope (known: store)',
      'wf.yaml:10:16 /steps/0/env/0/value step a: env X: {{ extensions.store.cfg }}: unknown reference: use extensions.<name>.url or extensions.<name>.cfg.<KEY>',
      'wf.yaml:11:11 /steps/1/name step a: step name is used twice',
    ]);
  });

  it('reports YAML syntax errors as issues, and a missing file as not-found', async () => {
    expect((await issuesOf(() => parseWorkflow('name: [x\n', 'bad.yaml')))[0]).toMatch(/^bad\.yaml:\d+:\d+ invalid YAML/);
    await expect(loadWorkflowFile(fixture('nope.yaml'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/^workflow file .*nope\.yaml: no such file or directory$/) });
  });

  it('its locate() positions resolver problems', async () => {
    const loaded = await loadWorkflowFile(fixture('mlflow-e2e.yaml'));
    try {
      resolveWorkflow(loaded.workflow, { project: 'A' }, [], { source: loaded.file, locate: loaded.locate });
      throw new Error('expected failure');
    } catch (err) {
      expect(err).toBeInstanceOf(ResolutionError);
      const lines = (err as ResolutionError).issues.map(formatIssue);
      expect(lines[0]).toBe(
        `${loaded.file}:26:9 /steps/0/extensions/0 step trainer, requirement mlflow-tracking: no registered service matches product=mlflow, service_resource=mlflow-tracking`,
      );
      expect(lines).toHaveLength(4);
    }
  });
});

describe('workflowDataIssues', () => {
  it('validates data without positions', () => {
    expect(workflowDataIssues({ name: 'w', steps: [{ name: 's' }] })).toEqual([]);
    expect(workflowDataIssues({ name: 'w', steps: [] }, 'body')).toEqual([{ file: 'body', pointer: '/steps', message: 'must NOT have fewer than 1 items' }]);
    expect(workflowDataIssues({ name: 'w', steps: [{ name: 's' }, { name: 's' }] })).toEqual([
      { file: 'workflow', pointer: '/steps/1/name', message: 'step s: step name is used twice' },
    ]);
  });
});
