export * from './function';
export * from './provider';
export * from './image-version';
