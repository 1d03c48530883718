import { MemoryTableStore } from '../../../lib/tables/stores/memory-table-store.js';
import { tableStoreContract } from './table-store.contract.js';

tableStoreContract({ name: 'MemoryTableStore', create: () => new MemoryTableStore() });
