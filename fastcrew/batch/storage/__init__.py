"""A batch's files: the input reader, the journal, the ordered output and the plan that
decides what a run does with the files it finds. No processes, no workers."""
