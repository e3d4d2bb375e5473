"""The tenancy core: the hierarchy's code arithmetic, who the caller is (Principal), how
tokens and passwords are checked, and the scoped database session that sets the RLS
context. Visibility is decided by the policies in the migrations, never here: what this
package decides is only *who is asking*.
"""
