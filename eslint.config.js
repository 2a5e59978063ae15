import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files matching `files` may not import from the top-level folders in `forbidden`. */
function layer(files, forbidden, message) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${forbidden.join('|')})/`, message }] }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', 'test/golden/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.js', 'simulator/page/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // One direction of dependency: cli → simulator, bench → device → adapters → core.
  // The core knows no hardware and no program; adapters know only the core.
  layer(['core/**/*.ts'], ['adapters', 'device', 'billing-client', 'simulator', 'bench', 'cli', 'fleet'], 'the core imports only the core: hardware goes behind a port in core/ports'),
  layer(['adapters/**/*.ts'], ['device', 'billing-client', 'simulator', 'bench', 'cli', 'fleet'], 'an adapter implements a core port and imports only the core'),
  layer(['device/**/*.ts'], ['billing-client', 'simulator', 'bench', 'cli', 'fleet'], 'the device program is composed from the core and adapters only'),
  layer(['billing-client/**/*.ts'], ['device', 'simulator', 'bench', 'cli'], 'the billing client is a library on the serial protocol'),
  layer(['simulator/**/*.ts', 'bench/**/*.ts'], ['cli'], 'programs are composed from the core, adapters and the device; the command line dispatches to them'),
  layer(['fleet/**/*.ts'], ['simulator', 'bench', 'billing-client', 'cli'], 'the fleet simulator runs real devices: it is composed from the core, adapters and the device only'),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { URL: 'readonly', console: 'readonly', process: 'readonly' } },
  },
  // The simulator page runs in the browser, as plain modules.
  {
    files: ['simulator/page/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'WebSocket', 'Blob', 'URL', 'atob', 'crypto', 'TextEncoder', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'console'].map((name) => [name, 'readonly']),
      ),
    },
  },
);
