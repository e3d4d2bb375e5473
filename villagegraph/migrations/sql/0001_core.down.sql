drop schema vg cascade;
