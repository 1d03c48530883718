/**
 * The persistent table store on LMDB: `rivulet/lmdb`. Needs the optional peer dependency `lmdb`
 * (`npm install lmdb`; its native binaries come inside its npm packages). The main entry never loads it.
 * @module
 */
export { LmdbTableStore, type LmdbTableStoreOptions } from './tables/stores/lmdb-table-store.js';
