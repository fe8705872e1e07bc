/**
 * The FusemlExtension CustomResourceDefinition of the registry's Kubernetes
 * store. deploy/crd-fusemlextension.yaml is the same object as YAML (for
 * `kubectl apply -f`); a test keeps the two equal.
 *
 * spec.document is the extension document as readers see it (credential values
 * `<hidden>`); the values themselves live, encrypted, in the Secret of the same
 * name, under the key spec.credentialsRef.
 *
 * The document's schema names only the fields the API server indexes or prints and preserves the rest, so objects
 * of both forms validate: today's (record times once, in each record's status) and the previous one (top-level
 * created/updated beside them), which the store converts on read and rewrites in today's form on the next write.
 */
export const FUSEML_EXTENSION_GROUP = 'registry.fuseml.io';
export const FUSEML_EXTENSION_VERSION = 'v1alpha1';
export const FUSEML_EXTENSION_PLURAL = 'fusemlextensions';

const ID = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$' };
const CONFIGURATION = { type: 'object', additionalProperties: { type: 'string' } };

export const FUSEML_EXTENSION_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${FUSEML_EXTENSION_PLURAL}.${FUSEML_EXTENSION_GROUP}` },
  spec: {
    group: FUSEML_EXTENSION_GROUP,
    scope: 'Namespaced',
    names: { plural: FUSEML_EXTENSION_PLURAL, singular: 'fusemlextension', kind: 'FusemlExtension', listKind: 'FusemlExtensionList', shortNames: ['fext'] },
    versions: [
      {
        name: FUSEML_EXTENSION_VERSION,
        served: true,
        storage: true,
        additionalPrinterColumns: [
          { name: 'ID', type: 'string', jsonPath: '.spec.id' },
          { name: 'Product', type: 'string', jsonPath: '.spec.document.product' },
          { name: 'Version', type: 'string', jsonPath: '.spec.document.version' },
          { name: 'Zone', type: 'string', jsonPath: '.spec.document.zone' },
          { name: 'Revision', type: 'integer', jsonPath: '.spec.revision' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'An extension registered in the FuseML registry (written by fuseml-registry, not by hand).',
            required: ['spec'],
            properties: {
              spec: {
                type: 'object',
                required: ['id', 'revision', 'document'],
                properties: {
                  id: { ...ID, description: 'The extension id (object names are derived from it with a hash suffix).' },
                  revision: { type: 'integer', minimum: 1, description: "The document's revision (If-Match)." },
                  credentialsRef: {
                    type: 'string',
                    maxLength: 253,
                    description: "Key, in the Secret of the same name, of this revision's encrypted credential values.",
                  },
                  document: {
                    type: 'object',
                    description: 'The extension record (extension → services → endpoints → credentials), credential values <hidden>.',
                    'x-kubernetes-preserve-unknown-fields': true,
                    required: ['id'],
                    properties: {
                      id: ID,
                      product: { type: 'string' },
                      version: { type: 'string' },
                      zone: { type: 'string' },
                      description: { type: 'string' },
                      configuration: CONFIGURATION,
                      revision: { type: 'integer' },
                      services: {
                        type: 'array',
                        items: {
                          type: 'object',
                          'x-kubernetes-preserve-unknown-fields': true,
                          required: ['id'],
                          properties: {
                            id: ID,
                            resource: { type: 'string' },
                            category: { type: 'string' },
                            configuration: CONFIGURATION,
                            endpoints: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
                            credentials: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
} as const;
