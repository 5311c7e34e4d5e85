/** Zips a folder into a redlet upload (paths relative to the folder, DEFLATE). */
export function zipFolder(dir: string): Promise<Buffer>;
