/** The paced load lives in shared/ (lab 03's spike drives it too); lab 01's bench and lab 07's import it from here. */
export * from '../../../shared/paced-load.js';
