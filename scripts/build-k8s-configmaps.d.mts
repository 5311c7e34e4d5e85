/** The k8s/ ConfigMaps generated from the examples (path relative to the repository root, YAML text). */
export function renderCodeConfigMaps(): Promise<Array<{ path: string; text: string }>>;
